#!/usr/bin/env node
// CPU seconds per test file (user+sys of vitest and the processes it waited for, plus the detached
// embedded server's own CPU), each file alone with --maxWorkers=1. CPU, unlike wall time, barely
// depends on what else runs on a shared machine.
//   node bench/suite-cpu.mjs [test/a.test.ts …]   (default: every test file); prints a table, sorted.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const walk = (d) =>
  fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
const files = process.argv.slice(2).length
  ? process.argv.slice(2)
  : walk(path.join(root, 'test'))
      .filter((f) => f.endsWith('.test.ts'))
      .map((f) => path.relative(root, f))
      .sort();
const rows = [];
for (const file of files) {
  const log = path.join(os.tmpdir(), `suite-cpu-${process.pid}.log`);
  fs.rmSync(log, { force: true });
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %U %S %e', 'npx', 'vitest', 'run', file, '--maxWorkers=1'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, PGHARDEN_SERVER_CPU_LOG: log },
  });
  const [, user, sys, wall] = /TIME (\S+) (\S+) (\S+)/.exec(r.stderr) ?? [];
  const server = Number(fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim() : NaN);
  const counts = /Tests: (\d+) passed, (\d+) failed/.exec(r.stdout) ?? [];
  const row = { file, user: +user, sys: +sys, wall: +wall, server, passed: +counts[1], failed: +counts[2] };
  rows.push(row);
  console.error(JSON.stringify(row));
}
rows.sort((a, b) => b.user + b.sys + b.server - (a.user + a.sys + a.server));
const sum = (k) => rows.reduce((s, r) => s + (r[k] || 0), 0);
console.log('file                                         user    sys  server  total   wall  pass fail');
for (const r of [
  ...rows,
  {
    file: 'TOTAL',
    user: sum('user'),
    sys: sum('sys'),
    server: sum('server'),
    wall: sum('wall'),
    passed: sum('passed'),
    failed: sum('failed'),
  },
]) {
  const total = r.user + r.sys + (r.server || 0);
  console.log(
    `${r.file.padEnd(42)} ${r.user.toFixed(1).padStart(6)} ${r.sys.toFixed(1).padStart(6)} ${(r.server || 0).toFixed(1).padStart(7)} ${total.toFixed(1).padStart(6)} ${r.wall.toFixed(0).padStart(6)} ${String(r.passed).padStart(5)} ${String(r.failed).padStart(4)}`,
  );
}
