import { LatencyHistogram } from '../load/histogram.js';
import { runLoad } from '../load/run-load.js';
import type { WorkloadName } from '../load/workloads/types.js';
import { connect } from '../pg/client.js';
import type { Target } from '../pg/target.js';
import type { LatencyDistribution } from '../guard/latency-stats.js';
import type { LoadSample } from '../guard/triggers.js';

/**
 * The load generator as the run's sampler: the same small workload (same clients, same duration)
 * before the change and back to back in the guard window, so latency and timeout errors compare
 * like for like. It works on fresh application-like sessions, so the new settings reach it. The
 * latency distribution (and that of each half of the sample) is kept for the latency trigger's
 * confidence bounds, and a control measured at the same time (see controlProbe).
 */
export function loadSamplerFor(target: Target, workload: WorkloadName, clients: number): (durationMs: number) => Promise<LoadSample> {
  return async (durationMs) => {
    const control = controlProbe(target, durationMs);
    try {
      const r = await runLoad(target, { workload, clients, durationMs, distribution: true });
      return { ...r, control: (await control.result) ?? undefined };
    } finally {
      control.stop();
      await control.result;
    }
  };
}

/**
 * `SELECT 1` every 10 ms on a tool session beside the load: what the host and the server are
 * doing to latency anyway (other load on the machine, checkpoints). A hardening setting does not
 * change the time of `SELECT 1`, so when the control slows down as much as the workload, the
 * slowdown is the machine's, not the change's. Null when it could not connect (a refused login
 * is the workload's evidence, not the control's).
 */
function controlProbe(target: Target, durationMs: number): { result: Promise<LatencyDistribution | null>; stop(): void } {
  let stopped = false;
  const result = (async () => {
    const client = await connect(target, { appName: 'pgharden latency control', statementTimeoutMs: 10_000 }).catch(() => null);
    if (!client) return null;
    const all = new LatencyHistogram();
    const late = new LatencyHistogram();
    const start = performance.now();
    try {
      while (!stopped && performance.now() - start < durationMs) {
        const t = performance.now();
        await client.query('SELECT 1');
        const us = (performance.now() - t) * 1000;
        all.record(us);
        if (t - start >= durationMs / 2) late.record(us);
        await new Promise((r) => setTimeout(r, 10));
      }
      return { all: all.sparse(), halves: [all.sparse(late), late.sparse()] as LatencyDistribution['halves'] };
    } catch {
      return null;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return { result, stop: () => (stopped = true) };
}
