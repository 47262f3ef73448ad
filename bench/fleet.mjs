#!/usr/bin/env node
// Fleet rollouts at scale (issue 14): one PostgreSQL holding N databases, no probes, zero guard window.
// Goals on the reference machine: 100 databases planned, applied and verified ≤ 10 s; 1,000 ≤ 60 s;
// two workers on one control database: 200 targets, each applied exactly once.
//   node bench/fleet.mjs [sizes=100,1000] [--workers-targets 200] [--concurrency 12] [--skip-two]
//   (PGHARDEN_BENCH_URL, default postgres://postgres@127.0.0.1:5432/postgres; its max_connections
//   bounds --concurrency: each target in flight holds 2-3 sessions.) Prints per-target p50/p95 and the total.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const url = process.env.PGHARDEN_BENCH_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const sizes = (args.find((a, i) => /^[\d,]+$/.test(a) && !args[i - 1]?.startsWith('--')) ?? '100,1000')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
const concurrency = flag('--concurrency', 12);
const twoTargets = flag('--workers-targets', 200);
const GOALS = { 100: 10, 1000: 60 };

const POLICY = `settings:
  statement_timeout: 30s
  idle_in_transaction_session_timeout: 60s
  work_mem: 64MB
connection_limit: 20
guard_window: 0s
`;

const dbUrl = (db) => {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
};

async function admin(fn) {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const created = new Set();
/**
 * DROP DATABASE waits for a checkpoint (and CREATE may too): one after another, a thousand take
 * an hour on a busy server; eight sessions at once share each checkpoint.
 */
async function inParallel(names, sqlFor, onDone) {
  const queue = [...names];
  await Promise.all(
    Array.from({ length: Math.min(8, queue.length) }, () =>
      admin(async (c) => {
        for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
          await c.query(sqlFor(n));
          onDone(n);
        }
      }),
    ),
  );
}
const createDatabases = (names) =>
  inParallel(
    names,
    (n) => `CREATE DATABASE "${n}"`,
    (n) => created.add(n),
  );
const dropDatabases = () =>
  inParallel(
    [...created],
    (n) => `DROP DATABASE IF EXISTS "${n}" WITH (FORCE)`,
    (n) => created.delete(n),
  );

function cliRun(cwd, argv) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...argv], { cwd, env: { ...process.env, NO_COLOR: '1' } });
    let out = '',
      err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
const fmt = (ms) => `${(ms / 1000).toFixed(2)}s`;

/** The rollout's inventory: discovery of `<prefix>_%` on the bench server, one wave after the canary. */
async function setup(n, prefix) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgharden-bench-fleet-'));
  const names = Array.from({ length: n }, (_, i) => `${prefix}_${String(i + 1).padStart(4, '0')}`);
  const control = `${prefix}ctl`;
  const t = performance.now();
  await createDatabases([...names, control]);
  console.log(`  created ${n} databases in ${fmt(performance.now() - t)}`);
  await fs.writeFile(path.join(dir, 'policy.yaml'), POLICY);
  await fs.writeFile(
    path.join(dir, 'fleet.yaml'),
    `name: ${prefix}\npolicy: policy.yaml\ndiscover: { server: "${url}", databases: "${prefix}\\\\_%" }\n` +
      `waves: [1, 10%, 100%]\nconcurrency: ${concurrency}\nmax_failures: 1\nprobes: false\nguard_window: 0s\n`,
  );
  return { dir, names, control, controlUrl: dbUrl(control) };
}

/** Runs per database that reached apply, from each database's own journal: exactly one is the goal. */
async function appliedCounts(names) {
  const counts = [];
  for (const db of names) {
    const c = new pg.Client({ connectionString: dbUrl(db) });
    c.on('error', () => undefined);
    await c.connect();
    try {
      counts.push(Number((await c.query(`SELECT count(*) AS n FROM pgharden.runs WHERE applied_at IS NOT NULL`)).rows[0].n));
    } finally {
      await c.end();
    }
  }
  return counts;
}

async function targetTimes(controlUrl, prefix) {
  const c = new pg.Client({ connectionString: controlUrl });
  c.on('error', () => undefined);
  await c.connect();
  try {
    const { rows } = await c.query(`SELECT ms, state, worker FROM pgharden_fleet.targets WHERE fleet_id = $1`, [prefix]);
    return rows;
  } finally {
    await c.end();
  }
}

function report(label, totalMs, rows, goal) {
  const ms = rows
    .map((r) => r.ms)
    .filter((v) => v !== null)
    .sort((a, b) => a - b);
  const passed = rows.filter((r) => r.state === 'passed').length;
  console.log(
    `  load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} on ${os.cpus().length} CPU(s); ${(rows.length / (totalMs / 1000)).toFixed(1)} targets/s`,
  );
  console.log(
    `  ${label}: total ${fmt(totalMs)}${goal ? ` (goal ≤ ${goal}s: ${totalMs / 1000 <= goal ? 'met' : 'MISSED'}, ratio ${(totalMs / 1000 / goal).toFixed(2)})` : ''}; ` +
      `${passed}/${rows.length} passed; per target p50 ${fmt(pct(ms, 0.5))}, p95 ${fmt(pct(ms, 0.95))}, max ${fmt(ms.at(-1))}`,
  );
}

async function single(n) {
  const prefix = `fleetbench_${randomBytes(3).toString('hex')}`;
  console.log(`\n${n} databases, one worker, concurrency ${concurrency}:`);
  const s = await setup(n, prefix);
  const t = performance.now();
  const r = await cliRun(s.dir, ['fleet', 'run', '--inventory', 'fleet.yaml', '--control', s.controlUrl, '--yes', '--json']);
  const total = performance.now() - t;
  if (r.code !== 0) console.log(`  exit ${r.code}: ${r.err.split('\n').slice(-8).join('\n  ')}`);
  report(`fleet run (plan + apply + verify)`, total, await targetTimes(s.controlUrl, prefix), GOALS[n]);
  const counts = await appliedCounts(s.names);
  console.log(`  applied exactly once: ${counts.filter((x) => x === 1).length}/${n}`);
  await dropDatabases();
}

async function two(n) {
  const prefix = `fleetbench_${randomBytes(3).toString('hex')}`;
  const per = Math.max(1, Math.floor(concurrency / 2));
  console.log(`\n${n} databases, two workers on one control database, concurrency ${per} each:`);
  const s = await setup(n, prefix);
  const plan = await cliRun(s.dir, ['fleet', 'plan', '--inventory', 'fleet.yaml', '--control', s.controlUrl]);
  if (plan.code !== 0) throw new Error(plan.err);
  const t = performance.now();
  const argv = ['fleet', 'worker', '--inventory', 'fleet.yaml', '--control', s.controlUrl, '--yes', '--concurrency', String(per)];
  const [a, b] = await Promise.all([cliRun(s.dir, argv), cliRun(s.dir, argv)]);
  const total = performance.now() - t;
  for (const r of [a, b]) if (r.code !== 0) console.log(`  a worker exited ${r.code}: ${r.err.split('\n').slice(-5).join('\n  ')}`);
  const rows = await targetTimes(s.controlUrl, prefix);
  report('two workers', total, rows);
  const byWorker = {};
  for (const r of rows) byWorker[r.worker] = (byWorker[r.worker] ?? 0) + 1;
  console.log(`  targets per worker: ${Object.values(byWorker).join(' + ')}`);
  const counts = await appliedCounts(s.names);
  console.log(
    `  applied exactly once (from each database's journal): ${counts.filter((x) => x === 1).length}/${n}; applied twice or more: ${counts.filter((x) => x > 1).length}`,
  );
  await dropDatabases();
}

for (const sig of ['SIGINT', 'SIGTERM'])
  process.on(sig, () => {
    dropDatabases().finally(() => process.exit(130));
  });
try {
  for (const n of sizes) await single(n);
  if (!args.includes('--skip-two')) await two(twoTargets);
} finally {
  await dropDatabases().catch((err) => console.error(`cleanup: ${err.message}`));
}
