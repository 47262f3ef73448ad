import fs from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ConnectionError, PghardenError, UsageError } from '../errors.js';
import { withClient } from '../pg/client.js';
import type { Target } from '../pg/target.js';
import { ensureBenchData } from './bench-data.js';
import { runGroup, type GroupProgress, type GroupSpec } from './group.js';
import { compileScripts } from './script.js';
import type { SparseHistogram } from './histogram.js';
import { LoadStats, type StatsSnapshot } from './stats.js';
import type { ScriptSpec } from './script.js';
import type { WorkloadName } from './workloads/types.js';

export interface LoadOptions {
  workload: WorkloadName;
  clients: number;
  durationMs: number;
  /** Open loop at this many transactions per second (Poisson arrivals); closed loop when absent. */
  rate?: number;
  /** Bench data scale (pgbench's): default what is there, else 1. */
  scale?: number;
  /** Transactions in flight per session (select/tpcb only); 1 = like pgbench. */
  pipeline?: number;
  /** Worker threads; default min(clients, CPUs). */
  threads?: number;
  /** app workload: duration of its slow statements, and think time in its thinking transaction. */
  slowMs?: number;
  thinkMs?: number;
  /** Keep the latency distribution (whole run and each half) in the result: the guard's latency trigger needs it. */
  distribution?: boolean;
  /** workload 'script': pgbench-style scripts with weights (loadtest --script FILE[@W]). */
  scripts?: ScriptSpec[];
}

export interface LoadProgress {
  elapsedMs: number;
  transactions: number;
  /** Throughput over the last second. */
  tps: number;
  errors: number;
  /** Mean and standard deviation of the latencies of that second (ms), as pgbench -P prints them. */
  latMs?: number;
  stddevMs?: number;
}

/** What a loadtest measured; `pgharden loadtest --pgbench` fills the same shape from pgbench's report. */
export interface LoadResult {
  engine: 'pgharden' | 'pgbench';
  workload: WorkloadName;
  clients: number;
  threads: number;
  pipeline: number;
  scale: number;
  /** Requested arrival rate (open loop), or null for closed loop. */
  rate: number | null;
  durationMs: number;
  elapsedMs: number;
  transactions: number;
  failedTransactions: number;
  tps: number;
  latency: { p50Ms: number; p95Ms: number; p99Ms: number; maxMs: number; meanMs: number; stddevMs?: number };
  /** Mean time to open one session at the start (login + preparing the statements), ms; pgbench's "initial connection time". */
  initialConnectionMs?: number | null;
  /** workload 'script': the files and weights. */
  scripts?: { file: string; weight: number }[];
  /** Errors by SQLSTATE (57014, 25P03, 53300, 40001, …; 08006 = connection lost). */
  errors: Record<string, number>;
  /** Errors by workload step (`tpcb.update_branch`, `think.idle`, `connect`, …), then SQLSTATE. */
  errorsByStep: Record<string, Record<string, number>>;
  errorMessages: Record<string, string>;
  reconnects: number;
  /** Client CPU (user + system) spent during the run, and per transaction. */
  clientCpuMs: number | null;
  cpuUsPerTransaction: number | null;
  startedAt: string;
  /** With `distribution: true`: every latency (bucketed), and those of each half of the run. */
  distribution?: LatencyDistribution;
}

export interface LatencyDistribution {
  all: SparseHistogram;
  halves: [SparseHistogram, SparseHistogram];
}

const WORKER = new URL('./worker.js', import.meta.url);
export const DEFAULT_SLOW_MS = 500;
export const DEFAULT_THINK_MS = 200;

/**
 * Stable API (used by `pgharden loadtest` and by `pgharden run`/guard):
 *   runLoad(target, { workload, clients, durationMs, rate?, scale?, pipeline?, threads?, slowMs?, thinkMs? }, onProgress?)
 *     : Promise<LoadResult>
 * Creates/fills the pgharden_bench tables if needed (tool session), then runs the clients on
 * fresh application-like sessions (the database's and roles' settings apply) spread over
 * worker threads, surviving and counting every error. `onProgress` is called once a second.
 */
export async function runLoad(target: Target, opts: LoadOptions, onProgress?: (p: LoadProgress) => void): Promise<LoadResult> {
  const pipeline = opts.pipeline ?? 1;
  if (pipeline > 1 && opts.workload === 'app')
    throw new UsageError('--pipeline works with the select and tpcb workloads only (app transactions think between round trips)');
  if (pipeline > 1 && opts.rate) throw new UsageError('--pipeline is for closed-loop runs; --rate already sets the arrival rate');
  if (pipeline > 1 && opts.scripts)
    throw new UsageError('--pipeline does not apply to --script (each command is its own round trip, as in pgbench)');
  if (opts.scripts) compileScripts(opts.scripts, opts.scale ?? 1); // bad scripts are refused before anything connects
  // A script runs the team's own queries on its own tables: no bench data (its :scale is --scale, default 1).
  const { scale } = opts.scripts
    ? { scale: opts.scale ?? 1 }
    : await withClient(target, (c) => ensureBenchData(c, opts.scale), { appName: 'pgharden loadtest setup' });

  const threads = Math.max(1, Math.min(opts.threads ?? os.availableParallelism(), opts.clients));
  // Worker threads get the target by structured clone: a config holding functions (a custom stream) stays in this thread.
  const cloneable = Object.values(target.config).every((v) => typeof v !== 'function');
  const inWorkers = threads > 1 && cloneable && fs.existsSync(fileURLToPath(WORKER));
  const groups = inWorkers ? threads : 1;
  const specs: GroupSpec[] = Array.from({ length: groups }, (_, g) => {
    const clients = Math.floor(opts.clients / groups) + (g < opts.clients % groups ? 1 : 0);
    return {
      target,
      workload: opts.workload,
      clients,
      durationMs: opts.durationMs,
      pipeline,
      workloadOptions: { scale, slowMs: opts.slowMs ?? DEFAULT_SLOW_MS, thinkMs: opts.thinkMs ?? DEFAULT_THINK_MS },
      rate: opts.rate ? (opts.rate * clients) / opts.clients : undefined,
      graceMs: Math.max(1000, opts.slowMs ?? 0, opts.thinkMs ?? 0),
      first: g === 0,
      scripts: opts.scripts,
      clientOffset: g * Math.floor(opts.clients / groups) + Math.min(g, opts.clients % groups),
    };
  });

  const startedAt = new Date().toISOString();
  const cpuBefore = process.cpuUsage();
  const progress = onProgress && secondsProgress(groups, onProgress);
  const workers: Worker[] = [];
  const results = await Promise.all(
    specs.map((spec, g) => {
      const tick = (p: GroupProgress) => progress?.(g, p);
      return inWorkers ? inWorker(spec, tick, workers) : runGroup(spec, tick);
    }),
  ).catch(async (err) => {
    // One group failed: stop its siblings now, or their clients would load the server until their duration ends.
    await Promise.all(workers.map((w) => w.terminate()));
    throw err;
  });
  const cpu = process.cpuUsage(cpuBefore);

  const stats = new LoadStats();
  for (const r of results) stats.merge(r.stats);
  const connects = results.reduce((a, r) => a + r.connects, 0);
  const elapsedMs = Math.max(...results.map((r) => r.elapsedMs));
  const latency = stats.latency.summary();
  const clientCpuMs = (cpu.user + cpu.system) / 1000;
  return {
    engine: 'pgharden',
    workload: opts.workload,
    clients: opts.clients,
    threads: groups,
    pipeline,
    scale,
    rate: opts.rate ?? null,
    durationMs: opts.durationMs,
    elapsedMs: round(elapsedMs),
    transactions: stats.transactions,
    failedTransactions: stats.failed,
    tps: round((stats.transactions / elapsedMs) * 1000),
    latency: {
      p50Ms: latency.p50Ms,
      p95Ms: latency.p95Ms,
      p99Ms: latency.p99Ms,
      maxMs: latency.maxMs,
      meanMs: latency.meanMs,
      stddevMs: latency.stddevMs,
    },
    initialConnectionMs: connects ? round(results.reduce((a, r) => a + r.connectMs, 0) / connects) : null,
    ...(opts.scripts ? { scripts: opts.scripts.map(({ file, weight }) => ({ file, weight })) } : {}),
    errors: stats.errors,
    errorsByStep: stats.errorsByStep,
    errorMessages: stats.messages,
    reconnects: stats.reconnects,
    clientCpuMs: round(clientCpuMs),
    cpuUsPerTransaction: stats.transactions ? round((clientCpuMs * 1000) / stats.transactions) : null,
    startedAt,
    ...(opts.distribution
      ? {
          distribution: {
            all: stats.latency.sparse(),
            halves: [stats.latency.sparse(stats.lateLatency), stats.lateLatency.sparse()] as [SparseHistogram, SparseHistogram],
          },
        }
      : {}),
  };
}

/** Once every group has reported its n-th second, report second n with the groups' totals. */
function secondsProgress(groups: number, onProgress: (p: LoadProgress) => void) {
  const latest: GroupProgress[][] = Array.from({ length: groups }, () => []);
  let reported = 0;
  let last = { transactions: 0, sumUs: 0, sumSqUs: 0 };
  return (group: number, p: GroupProgress) => {
    latest[group].push(p);
    while (latest.every((ticks) => ticks.length > reported)) {
      const at = latest.map((ticks) => ticks[reported]);
      const sum = (f: (t: GroupProgress) => number) => at.reduce((a, t) => a + f(t), 0);
      const now = { transactions: sum((t) => t.transactions), sumUs: sum((t) => t.sumUs), sumSqUs: sum((t) => t.sumSqUs) };
      const n = now.transactions - last.transactions;
      const mean = n ? (now.sumUs - last.sumUs) / n : 0;
      const variance = n ? Math.max(0, (now.sumSqUs - last.sumSqUs) / n - mean * mean) : 0;
      reported++;
      onProgress({
        elapsedMs: reported * 1000,
        transactions: now.transactions,
        tps: n,
        errors: sum((t) => t.errors),
        latMs: mean / 1000,
        stddevMs: Math.sqrt(variance) / 1000,
      });
      last = now;
    }
  };
}

const round = (n: number) => Math.round(n * 100) / 100;

function inWorker(
  spec: GroupSpec,
  onTick: (p: GroupProgress) => void,
  workers: Worker[],
): Promise<{ stats: StatsSnapshot; elapsedMs: number; connectMs: number; connects: number }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { workerData: spec });
    workers.push(worker);
    worker.on('message', (m) => {
      if (m.type === 'tick') onTick(m);
      else if (m.type === 'done') resolve(m);
      // The SQLSTATE travels with the error: the guard counts a refused login (53300) as pool evidence.
      else
        reject(
          m.name === 'ConnectionError'
            ? new ConnectionError(m.message, m.code)
            : Object.assign(new PghardenError(`loadtest could not run: ${m.message}${m.code ? ` (${m.code})` : ''}`, m.exitCode ?? 3), {
                code: m.code,
              }),
        );
    });
    worker.on('error', reject);
    worker.on('exit', (code) => code !== 0 && reject(new Error(`loadtest worker exited with code ${code}`)));
  });
}
