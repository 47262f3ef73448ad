import type { Target } from '../pg/target.js';
import { ClientLoop, RETRYABLE_LOGIN, loginSqlstate } from './client-loop.js';
import { LoadStats, type StatsSnapshot } from './stats.js';
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
}

export interface GroupProgress {
  transactions: number;
  errors: number;
}

/**
 * Run `spec.clients` simulated clients in this thread: log them all in, start them together
 * (`begin` resolves when every client is connected), run for the duration, let in-flight work
 * finish within the grace period, and return what was measured.
 */
export async function runGroup(spec: GroupSpec, onTick?: (p: GroupProgress) => void): Promise<{ stats: StatsSnapshot; elapsedMs: number }> {
  const stats = new LoadStats();
  const loops: ClientLoop[] = [];
  try {
    for (let i = 0; i < spec.clients; i++) {
      const loop = new ClientLoop(buildWorkload(spec.workload, spec.workloadOptions), stats, {
        target: spec.target, pipeline: spec.pipeline, appName: 'pgharden loadtest',
        ratePerMs: spec.rate ? spec.rate / spec.clients / 1000 : undefined,
      });
      loops.push(loop);
      await loop.connect().catch((err) => {
        // Past the connection limit is a measurement, not a reason to stop: count it, retry under load.
        if (!RETRYABLE_LOGIN.has(loginSqlstate(err)) || (spec.first && i === 0)) throw err;
        stats.error('connect', loginSqlstate(err), (err as Error).message);
      });
    }
    const started = performance.now();
    for (const loop of loops) loop.start();
    const half = setTimeout(() => (stats.secondHalf = true), spec.durationMs / 2);
    const ticker = onTick && setInterval(() => onTick({ transactions: stats.transactions, errors: stats.errorCount }), 1000);
    await new Promise((r) => setTimeout(r, spec.durationMs));
    clearTimeout(half);
    if (ticker) clearInterval(ticker);
    await Promise.race([Promise.all(loops.map((l) => l.stop())), new Promise((r) => setTimeout(r, spec.graceMs))]);
    return { stats: stats.snapshot(), elapsedMs: performance.now() - started };
  } finally {
    for (const loop of loops) loop.close();
  }
}
