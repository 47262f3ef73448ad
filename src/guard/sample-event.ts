import type { Policy } from '../policy/schema.js';
import type { RunEventBody, TriggerReading } from '../events/types.js';
import type { GuardOptions, GuardSample } from './guard.js';
import type { LoadSample, TriggerResult } from './triggers.js';

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * One guard reading as an event: every trigger's measured value and limit, and the three series
 * the dashboard charts (failed-transaction rate, load p95, connections), each with the value at
 * which its trigger fires, so the chart can draw the threshold line without knowing the rules.
 */
export function guardSampleEvent(
  sample: GuardSample,
  opts: Pick<GuardOptions, 'windowMs' | 'baseline'>,
  triggers: TriggerResult[],
  loads: LoadSample[],
  limits: Policy['rollback_triggers'],
): Extract<RunEventBody, { type: 'guard.sample' }> {
  const timeouts = triggers.find((t) => t.trigger === 'timeout_errors_increase');
  const readings: TriggerReading[] = triggers.map((t) => ({
    trigger: t.trigger,
    fired: t.fired,
    measured: t.measured,
    before: num(t.before),
    after: num(t.after),
    threshold: t.threshold ?? null,
    summary: t.summary,
  }));
  // timeout_errors_increase fires when the window's rate exceeds the baseline's by more than the share (in points).
  const rateBefore = num(timeouts?.before) ?? 0;
  const lastLoad = loads.filter((l) => !l.failure && l.transactions > 0).at(-1);
  const baseP95 = opts.baseline.load?.latency.p95Ms ?? null;
  return {
    type: 'guard.sample',
    elapsedMs: sample.elapsedMs,
    windowMs: opts.windowMs,
    connections: sample.connections,
    connectionLimit: sample.connectionLimit,
    saturationAt: Math.ceil(0.95 * sample.connectionLimit),
    failureRate: { value: num(timeouts?.after), limit: rateBefore + limits.timeout_errors_increase },
    // The latency trigger compares distributions (median and p95 with confidence bounds); the line is its share over the baseline p95.
    p95Ms: { value: lastLoad ? lastLoad.latency.p95Ms : null, limit: baseP95 !== null ? baseP95 * (1 + limits.latency_degradation) : null },
    triggers: readings,
  };
}
