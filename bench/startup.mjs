#!/usr/bin/env node
// Startup cost of the CLI, as a Nagios check or a shell user pays it (issue 11):
// median wall time of `pgharden --help` and `pgharden monitor --once` against a local server,
// next to `node -e 0`. Goals on the reference machine: --help ≤ 0.25 s, monitor --once ≤ 0.35 s.
//   node bench/startup.mjs [runs] [--compare OTHER_CHECKOUT]
//   (PGHARDEN_BENCH_URL, default postgres://postgres@127.0.0.1:5432/postgres). On a busy machine,
//   --compare runs another checkout's dist/ (say, before a change) interleaved with this one, so
//   both see the same load; the ratio to `node -e 0` is then the figure to read.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const url = process.env.PGHARDEN_BENCH_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const args = process.argv.slice(2);
const compareAt = args.indexOf('--compare');
const other = compareAt >= 0 ? fileURLToPath(new URL(`file://${path.resolve(args[compareAt + 1])}/dist/cli/main.js`)) : null;
const runs = Math.max(5, Number(args.find((a, i) => /^\d+$/.test(a) && args[i - 1] !== '--compare') ?? 7));
const GOALS = { '--help': 0.25, 'monitor --once': 0.35 };

const commands = (main, tag) => [
  [`--help${tag}`, [main, '--help']],
  [`--version${tag}`, [main, '--version']],
  [`monitor --once${tag}`, [main, 'monitor', '--once', '--db', url]],
  [`status${tag}`, [main, 'status', '--db', url]],
];
const cases = [['node -e 0', ['-e', '0']], ...commands(cli, ''), ...(other ? commands(other, ' (other)') : [])];

function wall(args) {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status === null || r.status >= 3) throw new Error(`${args.slice(1).join(' ')} exited ${r.status}: ${r.stdout}${r.stderr}`);
  return seconds;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [, a] of cases) wall(a); // warm the file cache
// Round-robin: every case once per round, so a load spike hits all of them alike.
const times = cases.map(() => []);
for (let round = 0; round < runs; round++) cases.forEach(([, a], i) => times[i].push(wall(a)));
const base = median(times[0]);
console.log(`median wall time of ${runs} runs, interleaved (node ${process.version})`);
console.log('command                   median   min      × node -e 0  goal');
let missed = 0;
cases.forEach(([name], i) => {
  const m = median(times[i]);
  const goal = GOALS[name];
  if (goal && m > goal) missed++;
  console.log(
    `${name.padEnd(24)}  ${m.toFixed(3)}s  ${Math.min(...times[i]).toFixed(3)}s  ${(m / base).toFixed(2).padStart(6)}       ${goal ? `≤ ${goal}s ${m <= goal ? 'met' : 'MISSED'}` : ''}`,
  );
});
process.exitCode = missed ? 1 : 0;
