#!/usr/bin/env node
/**
 * Can a DBA believe the rollback triggers? Runs `pgharden run --load` through the CLI, each on a
 * fresh database, N times with a harmless change and N times with a real regression, and prints
 * how often each was rolled back and by which trigger.
 *
 *   node bench/triggers.mjs [--db postgres://postgres@host/postgres] [--runs 20] [--parallel 2]
 *                           [--sample 3s] [--window 9s] [--threshold 2%]
 *
 * Without --db it starts an embedded PostgreSQL in a temp directory (and stops it at the end).
 * Build first (npm run build). Goal: 0 false rollbacks of the harmless change, the regression
 * rolled back every time.
 *
 * The change, under the default --load workload (app: 60 % reads, 25 % writes, 10 % transactions
 * that think 200 ms, 5 % statements of 500 ms, 4 clients):
 *   harmless   statement_timeout 2s, idle_in_transaction_session_timeout 3s, work_mem, log_min_duration_statement, connection limit
 *   regression the same with statement_timeout 250ms: the workload's 500 ms statements outlast it (57014)
 * The policy's timeout_errors_increase is 2 % (--threshold): the regression cancels exactly the
 * workload's 5 % slow statements, so at the runbook's 5 % the rise would sit on the threshold
 * itself and detection would be a coin toss by construction. latency_degradation stays at 20 %.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// A private copy of the build: others may rebuild dist/ while the bench runs (node_modules still resolves from here).
const SNAPSHOT = path.join(ROOT, 'node_modules/.cache', `pgharden-bench-dist-${process.pid}`);
await fs.cp(path.join(ROOT, 'dist'), SNAPSHOT, { recursive: true });
const CLI = path.join(SNAPSHOT, 'cli/main.js');

function flag(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}
const RUNS = Number(flag('runs', '20'));
const PARALLEL = Number(flag('parallel', '2'));
const SAMPLE = flag('sample', '3s');
const WINDOW = flag('window', '9s');
const THRESHOLD = flag('threshold', '2%');

const policy = (statementTimeout) => `
settings:
  statement_timeout: ${statementTimeout}
  idle_in_transaction_session_timeout: 3s
  work_mem: 256MB
  log_min_duration_statement: 1s
connection_limit: 50
rollback_triggers:
  timeout_errors_increase: ${THRESHOLD}
  latency_degradation: 20%
  pool_exhaustion: true
require_measured: [timeout_errors_increase, latency_degradation]
`;

async function serverUrl() {
  const db = flag('db', process.env.PGHARDEN_BENCH_URL);
  if (db) return { url: db, stop: async () => undefined };
  const { startEmbedded } = await import(path.join(SNAPSHOT, 'pg/embedded.js'));
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgharden-bench-'));
  await fs.chmod(dir, 0o755);
  const server = await startEmbedded(path.join(dir, 'embedded'));
  const c = server.target('postgres').config;
  return {
    url: `postgres://${c.user}:${encodeURIComponent(String(c.password))}@127.0.0.1:${server.port}/postgres`,
    stop: async () => {
      await server.stop();
      await fs.rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    },
  };
}

async function admin(url, sql) {
  const c = new pg.Client(url);
  c.on('error', () => undefined);
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

function cli(args, cwd) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^PG|^DATABASE_URL$/.test(k)));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd, env: { ...env, NO_COLOR: '1' }, timeout: 300_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        let json = null;
        try {
          json = JSON.parse(stdout);
        } catch {
          /* not JSON: reported below */
        }
        resolve({ code: err ? (err.code ?? 1) : 0, json, stderr, stdoutBytes: stdout.length });
      },
    );
  });
}

async function oneRun(url, kind, i, policyPath, cwd) {
  const db = `pgh_bench_${kind}_${i}_${Math.random().toString(16).slice(2, 8)}`;
  await admin(url, `CREATE DATABASE ${db}`);
  const u = new URL(url);
  u.pathname = `/${db}`;
  const started = Date.now();
  try {
    const r = await cli(
      [
        'run',
        '--db',
        u.toString(),
        '--policy',
        policyPath,
        '--yes',
        '--no-probes',
        '--load',
        '--load-sample',
        SAMPLE,
        '--window',
        WINDOW,
        '--json',
      ],
      cwd,
    );
    const record = r.json?.record;
    const triggers = record?.guard?.triggers ?? [];
    const latency = triggers.find((t) => t.trigger === 'latency_degradation');
    const timeouts = triggers.find((t) => t.trigger === 'timeout_errors_increase');
    return {
      // Exit 0 is "passed" by the CLI's contract even when its JSON could not be read (counted apart below).
      kind,
      i,
      code: r.code,
      jsonUnreadable: !r.json,
      stdoutBytes: r.stdoutBytes,
      outcome:
        r.json?.outcome ??
        (r.code === 0
          ? 'passed'
          : `exit ${r.code}: ${r.stderr.split('\n').find((l) => /error/i.test(l)) ?? r.stderr.trim().split('\n').pop()}`),
      fired: (record?.guard?.fired ?? []).map((t) => t.trigger),
      reasons: (record?.guard?.fired ?? []).map((t) => `${t.trigger}: ${t.summary}`),
      median:
        /median ([\d.]+)ms → ([\d.]+)ms \(×([\d.]+), 99% bounds ×([\d.]+)/
          .exec(latency?.summary ?? '')
          ?.slice(1)
          .map(Number) ?? null,
      p95:
        /p95 ([\d.]+)ms → ([\d.]+)ms/
          .exec(latency?.summary ?? '')
          ?.slice(1)
          .map(Number) ?? null,
      timeoutRate: timeouts?.after ?? null,
      sqlstates: timeouts?.sqlstates ?? {},
      latencyMeasured: latency?.measured ?? false,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    await admin(url, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => undefined);
  }
}

async function pool(items, n, fn) {
  const results = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const item = items[next++];
        const r = await fn(item);
        results.push(r);
        process.stderr.write(
          `${r.kind.padEnd(10)} #${String(r.i).padStart(2)}  ${r.outcome.padEnd(12)} ${r.fired.join(',') || '-'}  ` +
            `median ${r.median ? `${r.median[0]}→${r.median[1]}ms ×${r.median[2]} (lo ×${r.median[3]})` : 'n/a'}  p95 ${r.p95 ? `${r.p95[0]}→${r.p95[1]}ms` : 'n/a'}  ${r.seconds.toFixed(0)}s\n`,
        );
      }
    }),
  );
  return results;
}

const server = await serverUrl();
const cwd = await fs.mkdtemp(path.join(os.tmpdir(), 'pgharden-bench-cwd-'));
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgharden-bench-policy-'));
const policies = { harmless: path.join(dir, 'harmless.yaml'), regression: path.join(dir, 'regression.yaml') };
await fs.writeFile(policies.harmless, policy('2s'));
await fs.writeFile(policies.regression, policy('250ms'));
const started = Date.now();
const jobs = [];
for (let i = 1; i <= RUNS; i++) for (const kind of ['harmless', 'regression']) jobs.push({ kind, i });
let results;
try {
  results = await pool(jobs, PARALLEL, ({ kind, i }) => oneRun(server.url, kind, i, policies[kind], cwd));
} finally {
  await server.stop();
  await fs.rm(SNAPSHOT, { recursive: true, force: true });
}

const row = (cells) => '| ' + cells.join(' | ') + ' |';
const count = (rs, f) => rs.filter(f).length;
console.log(
  `\npgharden trigger bench: ${RUNS} runs each, --load (app, 4 clients), samples ${SAMPLE}, window ${WINDOW}, ${PARALLEL} at a time, ${os.cpus().length} CPUs, load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}\n`,
);
console.log(
  row([
    'change',
    'runs',
    'passed',
    'rolled back',
    'by timeout_errors_increase',
    'by latency_degradation',
    'by pool_exhaustion',
    'latency measured',
    'median s/run',
  ]),
);
console.log(row(['---', '---', '---', '---', '---', '---', '---', '---', '---']));
for (const kind of ['harmless', 'regression']) {
  const rs = results.filter((r) => r.kind === kind);
  const secs = rs.map((r) => r.seconds).sort((a, b) => a - b);
  console.log(
    row([
      kind,
      rs.length,
      count(rs, (r) => r.outcome === 'passed'),
      count(rs, (r) => r.outcome === 'rolled_back'),
      count(rs, (r) => r.fired.includes('timeout_errors_increase')),
      count(rs, (r) => r.fired.includes('latency_degradation')),
      count(rs, (r) => r.fired.includes('pool_exhaustion')),
      count(rs, (r) => r.latencyMeasured),
      secs[secs.length >> 1]?.toFixed(1),
    ]),
  );
}
const harmless = results.filter((r) => r.kind === 'harmless');
const p95s = harmless.filter((r) => r.p95).map((r) => r.p95[0]);
console.log(`\nharmless runs' baseline p95 ranged ${Math.min(...p95s)}–${Math.max(...p95s)} ms (the old p95 rule compared these directly)`);
const oldRule = harmless.filter((r) => r.p95 && r.p95[1] > r.p95[0] * 1.2 && r.p95[1] - r.p95[0] > 1).length;
console.log(`harmless runs where window p95 > baseline p95 × 1.2 (the old trigger would have fired): ${oldRule} of ${harmless.length}`);
for (const r of results.filter((x) => (x.kind === 'harmless') === (x.outcome !== 'passed')))
  console.log(`  ${r.kind} #${r.i}: ${r.outcome} ${r.reasons.join('; ')}`);
const unreadable = results.filter((r) => r.jsonUnreadable);
if (unreadable.length)
  console.log(
    `runs whose --json output could not be parsed (judged by exit code): ${unreadable.map((r) => `${r.kind} #${r.i} exit ${r.code}, ${r.stdoutBytes} bytes`).join('; ')}`,
  );
console.log(`\ntotal ${((Date.now() - started) / 1000).toFixed(0)} s`);
const ok =
  count(harmless, (r) => r.outcome !== 'passed') === 0 &&
  count(
    results.filter((r) => r.kind === 'regression'),
    (r) => r.outcome !== 'rolled_back',
  ) === 0;
process.exitCode = ok ? 0 : 1;
