import type { Target } from '../pg/target.js';
import { ClientLoop, RETRYABLE_LOGIN, loginSqlstate } from './client-loop.js';
import { LoadStats, type StatsSnapshot } from './stats.js';
import { compileScripts, type ScriptSpec } from './script.js';
import { buildWorkload, type WorkloadName, type WorkloadOptions } from './workloads/index.js';

/** Everything one thread needs to run its share of the clients (structured-clone safe). */
export interface GroupSpec {
  target: Target;
  workload: WorkloadName;
  workloadOptions: WorkloadOptions;
  clients: number;
  durationMs: number;
  pipeline: number;
  /** Open loop: this group's share of the arrival rate (transactions per second). */
  rate?: number;
  /** How long in-flight transactions may take to finish after the deadline. */
  graceMs: number;
  /** The run's first group: if its first login fails, nothing can run, so that error ends the run. */
  first: boolean;
  /** workload 'script': the user's scripts (text, weight), compiled in the thread that runs them. */
  scripts?: ScriptSpec[];
  /** :client_id of this group's first client. */
  clientOffset?: number;
}

export interface GroupProgress {
  transactions: number;
  errors: number;
  /** Sum and sum of squares of the latencies so far (µs): per-second mean and stddev for -P style lines. */
  sumUs: number;
  sumSqUs: number;
}

/**
 * Run `spec.clients` simulated clients in this thread: log them all in, start them together
 * (`begin` resolves when every client is connected), run for the duration, let in-flight work
 * finish within the grace period, and return what was measured.
 */
export async function runGroup(
  spec: GroupSpec,
  onTick?: (p: GroupProgress) => void,
): Promise<{ stats: StatsSnapshot; elapsedMs: number; connectMs: number; connects: number }> {
  const stats = new LoadStats();
  const loops: ClientLoop[] = [];
  const script = spec.scripts ? compileScripts(spec.scripts, spec.workloadOptions.scale) : null;
  let connectMs = 0;
  let connects = 0;
  try {
    for (let i = 0; i < spec.clients; i++) {
      const workload = script ? script((spec.clientOffset ?? 0) + i) : buildWorkload(spec.workload, spec.workloadOptions);
      const loop = new ClientLoop(workload, stats, {
        target: spec.target,
        pipeline: spec.pipeline,
        appName: 'pgharden loadtest',
        ratePerMs: spec.rate ? spec.rate / spec.clients / 1000 : undefined,
      });
      loops.push(loop);
      const t0 = performance.now();
      await loop.connect().then(
        () => {
          connectMs += performance.now() - t0;
          connects++;
        },
        (err) => {
          // Past the connection limit is a measurement, not a reason to stop: count it, retry under load.
          if (!RETRYABLE_LOGIN.has(loginSqlstate(err)) || (spec.first && i === 0)) throw err;
          stats.error('connect', loginSqlstate(err), (err as Error).message);
        },
      );
    }
    const started = performance.now();
    for (const loop of loops) loop.start();
    const half = setTimeout(() => (stats.secondHalf = true), spec.durationMs / 2);
    const ticker =
      onTick &&
      setInterval(
        () =>
          onTick({
            transactions: stats.transactions,
            errors: stats.errorCount,
            sumUs: stats.latency.sumUs,
            sumSqUs: stats.latency.sumSqUs,
          }),
        1000,
      );
    await new Promise((r) => setTimeout(r, spec.durationMs));
    clearTimeout(half);
    if (ticker) clearInterval(ticker);
    await Promise.race([Promise.all(loops.map((l) => l.stop())), new Promise((r) => setTimeout(r, spec.graceMs))]);
    return { stats: stats.snapshot(), elapsedMs: performance.now() - started, connectMs, connects };
  } finally {
    for (const loop of loops) loop.close();
  }
}
