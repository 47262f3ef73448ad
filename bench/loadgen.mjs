#!/usr/bin/env node
/**
 * npm run bench:loadgen [-- --db URL] [--seconds 15] [--clients 8] [--rounds 2] [--scale 10] [--pipeline 4] [--our-threads 2,1]
 *
 * On one database, in one run, alternating: `pgbench -S -M prepared -c 8 -j 2 -T 15` versus
 * `pgharden loadtest --workload select --clients 8 --threads 2 --duration 15s`, on the same
 * tables (pgharden_bench, pgbench's layout; pgbench reaches them through search_path).
 * Prints both throughputs, both p99s, each client's CPU per transaction (both measured the
 * same way: /proc/self/stat cutime+cstime of the finished child process, start-up included),
 * and the ratio ours/pgbench. Without --db it starts a throwaway embedded PostgreSQL 18.
 * --our-threads 2,1 runs ours with each thread count in every round (same 8 sessions; pgbench keeps -j 2).
 * A last, separate line shows pgharden with --pipeline N: faster, but not like-for-like.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { childrenCpuMs } from '../dist/load/child-cpu.js';
import { ensureBenchData } from '../dist/load/bench-data.js';
import { runPgbench } from '../dist/load/pgbench.js';
import { withClient } from '../dist/pg/client.js';
import { startEmbedded } from '../dist/pg/embedded.js';
import { fromUrl, withDatabase } from '../dist/pg/target.js';
import { quoteIdent } from '../dist/pg/quote.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const DATABASE = 'pgharden_loadgen_bench';
const { values: o } = parseArgs({
  options: {
    db: { type: 'string' },
    seconds: { type: 'string', default: '15' },
    clients: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '2' },
    scale: { type: 'string', default: '10' },
    pipeline: { type: 'string', default: '4' },
    'our-threads': { type: 'string', default: '2' },
  },
});
const seconds = Number(o.seconds),
  clients = Number(o.clients),
  rounds = Number(o.rounds),
  scale = Number(o.scale),
  pipeline = Number(o.pipeline);
const THREADS = 2;
const OUR_THREADS = o['our-threads'].split(',').map(Number);

/** Our loadtest as a separate process, like pgbench: its whole CPU (start-up included) from /proc. */
function runOurs(url, extra = [], threads = THREADS) {
  return new Promise((resolve, reject) => {
    const before = childrenCpuMs();
    const child = spawn(
      process.execPath,
      [
        CLI,
        'loadtest',
        '--db',
        url,
        '--workload',
        'select',
        '--clients',
        String(clients),
        '--threads',
        String(threads),
        '--duration',
        `${seconds}s`,
        '--scale',
        String(scale),
        '--json',
        ...extra,
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`pgharden loadtest exited ${code}: ${out}`));
      const r = JSON.parse(out);
      const cpu = childrenCpuMs() - before;
      resolve({ ...r, processCpuMs: cpu, processCpuUsPerTxn: (cpu * 1000) / r.transactions });
    });
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b),
    m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

let embedded = null,
  dir = null,
  serverUrl = o.db ?? process.env.PGHARDEN_BENCH_URL;
try {
  if (!serverUrl) {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgharden-bench-'));
    await fs.chmod(dir, 0o755);
    embedded = await startEmbedded(dir);
    const c = embedded.target('postgres').config;
    serverUrl = `postgres://${c.user}:${encodeURIComponent(c.password)}@127.0.0.1:${embedded.port}/postgres`;
  }
  const admin = fromUrl(serverUrl, '--db');
  await withClient(admin, async (c) => {
    const { rowCount } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (!rowCount) await c.query(`CREATE DATABASE ${quoteIdent(DATABASE)}`);
  });
  const target = withDatabase(admin, DATABASE);
  const url = new URL(serverUrl);
  url.pathname = `/${DATABASE}`;
  const version = await withClient(target, async (c) => {
    await ensureBenchData(c, scale);
    return (await c.query('SHOW server_version')).rows[0].server_version;
  });
  console.log(
    `loadgen bench: PostgreSQL ${version} on ${embedded ? 'embedded' : target.display}, scale ${scale}, ${clients} clients, ${THREADS} client threads, ${seconds}s × ${rounds} rounds, alternating`,
  );
  console.log(
    `machine: ${os.cpus().length} CPU(s) (${os.cpus()[0]?.model}), load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (client and server share these CPUs)\n`,
  );

  const rows = [];
  const ratios = []; // per round: the two runs of a round saw the most similar machine
  for (let round = 1; round <= rounds; round++) {
    const before = childrenCpuMs();
    const pg = await runPgbench(target, { workload: 'select', clients, threads: THREADS, durationMs: seconds * 1000, scale });
    rows.push({
      round,
      who: 'pgbench -S -M prepared',
      tps: pg.tps,
      p99: pg.latency.p99Ms,
      cpuUs: pg.cpuUsPerTransaction ?? ((childrenCpuMs() - before) * 1000) / pg.transactions,
    });
    const per = [];
    for (const t of OUR_THREADS) {
      const ours = await runOurs(url.toString(), [], t);
      rows.push({
        round,
        who: `pgharden loadtest -t${t}`,
        tps: ours.tps,
        p99: ours.latency.p99Ms,
        cpuUs: ours.processCpuUsPerTxn,
        inRunCpuUs: ours.cpuUsPerTransaction,
      });
      per.push(ours.tps / pg.tps);
    }
    for (const r of rows.slice(-1 - OUR_THREADS.length))
      console.log(
        `round ${r.round}  ${r.who.padEnd(24)} ${fmt(r.tps).padStart(8)} tps   p99 ${fmt(r.p99, 3)} ms   client CPU ${fmt(r.cpuUs, 2)} µs/txn${r.inRunCpuUs ? ` (${fmt(r.inRunCpuUs, 2)} during the run)` : ''}`,
      );
    ratios.push(per);
    console.log(
      `round ${round}  ratio ours/pgbench ${OUR_THREADS.map((t, i) => `${t} thread(s) ${per[i].toFixed(2)}`).join(', ')}   (load average now ${os.loadavg()[0].toFixed(2)})`,
    );
  }
  const pick = (who, k) => median(rows.filter((r) => r.who.startsWith(who)).map((r) => r[k]));
  const pg = { tps: pick('pgbench', 'tps'), p99: pick('pgbench', 'p99'), cpu: pick('pgbench', 'cpuUs') };
  console.log(`\nmedian of ${rounds} round(s):`);
  console.log(
    `  pgbench -S -M prepared -c ${clients} -j ${THREADS}:  ${fmt(pg.tps).padStart(8)} tps   p99 ${fmt(pg.p99, 3)} ms   client CPU ${fmt(pg.cpu, 2)} µs/txn`,
  );
  OUR_THREADS.forEach((t, i) => {
    const who = `pgharden loadtest -t${t}`;
    const us = { tps: pick(who, 'tps'), p99: pick(who, 'p99'), cpu: pick(who, 'cpuUs') };
    const rs = ratios.map((r) => r[i]);
    console.log(
      `  pgharden loadtest --clients ${clients} --threads ${t}: ${fmt(us.tps).padStart(8)} tps   p99 ${fmt(us.p99, 3)} ms   client CPU ${fmt(us.cpu, 2)} µs/txn`,
    );
    console.log(
      `    ratio ours/pgbench (throughput): ${median(rs).toFixed(2)} (median of the per-round ratios ${rs.map((r) => r.toFixed(2)).join(', ')})   client CPU per transaction: ${(us.cpu / pg.cpu).toFixed(2)}×`,
    );
  });
  if (pipeline > 1) {
    const piped = await runOurs(url.toString(), ['--pipeline', String(pipeline)]);
    console.log(`\nnot like-for-like (${pipeline} transactions in flight per session, pgbench keeps 1):`);
    console.log(
      `  pgharden loadtest --pipeline ${pipeline}:     ${fmt(piped.tps).padStart(8)} tps   p99 ${fmt(piped.latency.p99Ms, 3)} ms   client CPU ${fmt(piped.processCpuUsPerTxn, 2)} µs/txn   ratio ${(piped.tps / pg.tps).toFixed(2)}`,
    );
  }
} finally {
  await embedded?.stop().catch(() => undefined);
  if (dir) await fs.rm(dir, { recursive: true, force: true });
}
process.exit(0);
