import { runLoad } from '../load/run-load.js';
import type { WorkloadName } from '../load/workloads/types.js';
import type { Target } from '../pg/target.js';
import type { LoadSample } from '../guard/triggers.js';

/**
 * The load generator as the run's sampler: the same small workload (same clients, same duration)
 * before the change and back to back in the guard window, so latency and timeout errors compare
 * like for like. It works on fresh application-like sessions, so the new settings reach it. The
 * latency distribution (and that of each half of the sample) is kept for the latency trigger's
 * confidence bounds.
 */
export function loadSamplerFor(target: Target, workload: WorkloadName, clients: number): (durationMs: number) => Promise<LoadSample> {
  return (durationMs) => runLoad(target, { workload, clients, durationMs, distribution: true });
}
