// bench/monitor — `npm run bench:monitor` (builds first).
//
// In one run, on a private embedded PostgreSQL (temp dir, max_connections=300):
//  1. the cost of one monitor poll (sampleOnce: one statement, client round trip) with
//     10 and with 250 open connections on the database — median and p99;
//  2. pgbench -S -c 8 -T 15 throughput without and with the monitor polling at 1 Hz,
//     in the order off, on, on, off so drift on a shared machine cancels out — the ratio.
// Goals (issue 12): <= 1 ms median poll at 250 connections; >= 0.99 throughput ratio.
// Also shown: the instance scope (--all-databases, live view `a`) at 250 connections.
// BENCH_SECONDS (default 15) and BENCH_POLLS (default 500) shorten it for a smoke run.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { connect } from '../dist/pg/client.js';
import { startEmbedded } from '../dist/pg/embedded.js';
import { runMonitor } from '../dist/monitor/monitor.js';
import { rulesFromPolicy } from '../dist/monitor/rules.js';
import { sampleOnce } from '../dist/monitor/sample.js';
import { loadPolicy } from '../dist/policy/load.js';

const run = promisify(execFile);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const POLLS = Number(process.env.BENCH_POLLS ?? 500);
const DATABASE = 'bench_monitor';

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

async function openIdle(target, n) {
  const clients = [];
  for (let i = 0; i < n; i++) {
    const c = new pg.Client({ ...target.config, application_name: 'bench idle' });
    c.on('error', () => undefined);
    await c.connect();
    await c.query('SELECT 1');
    clients.push(c);
  }
  return clients;
}

async function pollCost(client, connections, scope = 'database') {
  for (let i = 0; i < 50; i++) await sampleOnce(client, DATABASE, { scope }); // warm-up: plan cached, pages hot
  const ms = [];
  let seen = 0;
  for (let i = 0; i < POLLS; i++) {
    const s = await sampleOnce(client, DATABASE, { scope });
    ms.push(s.pollMs);
    seen = s.connections.total;
  }
  return { connections, scope, seen, median: quantile(ms, 0.5), p99: quantile(ms, 0.99) };
}

async function pgbench(server, args) {
  const env = { ...process.env, PGPASSWORD: server.target(DATABASE).config.password };
  const { stdout } = await run('pgbench', ['-h', '127.0.0.1', '-p', String(server.port), '-U', 'postgres', ...args, DATABASE], {
    env,
    maxBuffer: 1 << 24,
  });
  return stdout;
}

/** CPU seconds (user + system) a local backend has used, from /proc (Linux; null elsewhere). */
function backendCpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ (100)
  } catch {
    return null;
  }
}

/**
 * One pgbench run; with the monitor, also what the monitor itself cost: its Node process
 * (this one: it does nothing else meanwhile) plus its backend, as a share of the machine's CPU.
 */
async function throughput(server, withMonitor, rules) {
  const controller = new AbortController();
  // Steady state, from the first sample on: connecting (SCRAM, backend start) is a one-off.
  const at = { backend: null, backendLast: null, node: null, wall: null };
  const probe = {
    sample: (s) => {
      const cpu = backendCpuSeconds(s.myPid);
      if (at.node === null) Object.assign(at, { backend: cpu, node: process.cpuUsage(), wall: performance.now() });
      at.backendLast = cpu;
    },
  };
  const monitor = withMonitor
    ? runMonitor({ target: server.target(DATABASE), rules, intervalMs: 1_000, sinks: [probe], signal: controller.signal })
    : null;
  try {
    const out = await pgbench(server, ['-n', '-S', '-c', '8', '-j', '2', '-T', String(SECONDS)]);
    const tps = Number(/tps = ([\d.]+)/.exec(out)?.[1]);
    if (!tps) throw new Error(`no tps in pgbench output:\n${out}`);
    if (!withMonitor || at.node === null) return { tps, cpuShare: null };
    const node = process.cpuUsage(at.node);
    const wall = (performance.now() - at.wall) / 1000;
    const monitorCpu = (node.user + node.system) / 1e6 + (at.backend !== null ? at.backendLast - at.backend : 0);
    return { tps, cpuShare: monitorCpu / (wall * os.cpus().length) };
  } finally {
    controller.abort();
    await monitor;
  }
}

const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgharden-bench-'));
await fs.chmod(dir, 0o755);
const server = await startEmbedded(dir);
const idle = [];
try {
  await server.createDatabase(DATABASE);
  const target = server.target(DATABASE);
  const client = await connect(target, { appName: 'pgharden bench' });
  const { rows } = await client.query(`SELECT current_setting('server_version') AS v`);
  console.log(`bench/monitor: embedded PostgreSQL ${rows[0].v}, ${os.cpus().length} CPU(s), node ${process.version}\n`);

  const polls = [];
  idle.push(...(await openIdle(target, 9))); // + the monitor's own = 10
  polls.push(await pollCost(client, 10));
  idle.push(...(await openIdle(target, 240)));
  polls.push(await pollCost(client, 250));
  polls.push(await pollCost(client, 250, 'instance'));
  await Promise.all(idle.splice(0).map((c) => c.end()));
  await client.end();
  console.log('poll cost (one statement, client round trip, ' + POLLS + ' polls):');
  for (const p of polls)
    console.log(
      `  ${String(p.connections).padStart(3)} connections${p.scope === 'instance' ? ', whole instance' : ''}: median ${p.median.toFixed(2)} ms   p99 ${p.p99.toFixed(2)} ms   (sampled ${p.seen})`,
    );

  await pgbench(server, ['-i', '-q', '-s', '10']);
  const rules = rulesFromPolicy((await loadPolicy()).alerts);
  const tps = { off: [], on: [] };
  const cpuShares = [];
  for (const mode of ['off', 'on', 'on', 'off']) {
    const r = await throughput(server, mode === 'on', rules);
    tps[mode].push(r.tps);
    if (r.cpuShare !== null) cpuShares.push(r.cpuShare);
    console.log(
      `  pgbench -S -c 8 -T ${SECONDS}, monitor ${mode.padEnd(3)}: ${r.tps.toFixed(0)} tps` +
        (r.cpuShare !== null ? `   (monitor process + backend: ${(r.cpuShare * 100).toFixed(3)}% of the CPUs)` : ''),
    );
  }
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const ratio = mean(tps.on) / mean(tps.off);
  // Two runs with the same setting differ by this much: the noise floor of the ratio on this machine.
  const noise = Math.abs(tps.off[0] - tps.off[1]) / mean(tps.off);
  const load = os.loadavg()[0];
  console.log(`\nthroughput with the monitor at 1 Hz / without: ${ratio.toFixed(3)}`);
  console.log(
    `noise: the two runs without the monitor differ by ${(noise * 100).toFixed(1)}% (load average ${load.toFixed(1)} on ${os.cpus().length} CPUs)`,
  );
  console.log(
    `monitor CPU cost: ${(mean(cpuShares) * 100).toFixed(3)}% of the machine, i.e. an upper bound of ${(1 - mean(cpuShares)).toFixed(4)} on the ratio from CPU alone`,
  );
  const goals = { pollMedianAt250: polls[1].median <= 1, throughputRatio: ratio >= 0.99 };
  console.log(
    `goals: median poll at 250 <= 1 ms: ${goals.pollMedianAt250 ? 'met' : 'NOT met'}; ratio >= 0.99: ${goals.throughputRatio ? 'met' : `NOT met (noise ${(noise * 100).toFixed(1)}%)`}`,
  );
  console.log(JSON.stringify({ polls, tps, ratio, noise, monitorCpuShare: mean(cpuShares), loadavg: load, goals }));
} finally {
  await Promise.all(idle.map((c) => c.end().catch(() => undefined)));
  await server.stop();
  await fs.rm(dir, { recursive: true, force: true });
}
