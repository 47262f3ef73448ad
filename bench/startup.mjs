#!/usr/bin/env node
// Startup cost of the CLI, as a Nagios check or a shell user pays it (issue 11):
// median wall time of `pgharden --help` and `pgharden monitor --once` against a local server,
// next to `node -e 0`. Goals on the reference machine: --help ≤ 0.25 s, monitor --once ≤ 0.35 s.
//   node bench/startup.mjs [runs]      (PGHARDEN_BENCH_URL, default postgres://postgres@127.0.0.1:5432/postgres)
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const url = process.env.PGHARDEN_BENCH_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const runs = Math.max(5, Number(process.argv[2] ?? 7));
const GOALS = { '--help': 0.25, 'monitor --once': 0.35 };

const cases = [
  ['node -e 0', ['-e', '0']],
  ['--help', [cli, '--help']],
  ['--version', [cli, '--version']],
  ['monitor --once', [cli, 'monitor', '--once', '--db', url]],
  ['status', [cli, 'status', '--db', url]],
];

function wall(args) {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status === null || r.status >= 3) throw new Error(`${args.slice(1).join(' ')} exited ${r.status}: ${r.stdout}${r.stderr}`);
  return seconds;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`median wall time of ${runs} runs (node ${process.version})`);
console.log('command           median   min     goal');
let missed = 0;
for (const [name, args] of cases) {
  wall(args); // warm the file cache
  const times = Array.from({ length: runs }, () => wall(args));
  const goal = GOALS[name];
  const m = median(times);
  if (goal && m > goal) missed++;
  console.log(`${name.padEnd(16)}  ${m.toFixed(3)}s  ${Math.min(...times).toFixed(3)}s  ${goal ? `≤ ${goal}s ${m <= goal ? 'met' : 'MISSED'}` : ''}`);
}
process.exitCode = missed ? 1 : 0;
