import type { Policy } from '../policy/schema.js';
import { failureRate, type Counters } from './counters.js';

export type TriggerName = 'timeout_errors_increase' | 'latency_degradation' | 'pool_exhaustion' | 'checks';

export interface TriggerResult {
  trigger: TriggerName;
  fired: boolean;
  /** False when there was nothing to measure it with (reported, never counted as passed evidence). */
  measured: boolean;
  /** One sentence with the numbers. */
  summary: string;
  before?: number | null;
  after?: number | null;
  threshold?: number | boolean;
  /** Where the numbers came from. */
  source: string;
}

/** What the baseline says "normal" was, for the comparisons. */
export interface GuardBaseline {
  /** Failed-transaction rate from pg_stat_database, cumulative since the statistics were reset. */
  failureRate: number | null;
  /** Load sample before the change (with --load). */
  load: LoadSample | null;
  /** Mean time of the baseline's top pg_stat_statements entries. */
  statementMeanMs: number | null;
  /** Their query ids: the window's mean is taken over the same statements. */
  watchedQueryIds: string[];
}

/** The part of a load-generator result the triggers need. */
export interface LoadSample {
  transactions: number;
  errors: Record<string, number>;
  latency: { p50Ms: number; p95Ms: number; p99Ms: number; maxMs: number };
}

/** What the window has seen so far. */
export interface WindowObservation {
  first: Counters;
  last: Counters;
  /** Transactions our own polling added to xact_commit: subtracted so we don't dilute the rate. */
  ownTransactions: number;
  loads: LoadSample[];
  /** Timeout and pool messages counted in the server log (with --log). */
  log: { statementTimeouts: number; idleTimeouts: number; tooManyConnections: number } | null;
  /** Longest run of consecutive samples at ≥ 95 % of the connection limit. */
  saturatedSamples: number;
  checkFailures: { name: string; error: string }[];
}

/** A latency change smaller than this is scheduling noise (sub-millisecond p95s move by more than 20% on a busy host). */
export const LATENCY_NOISE_FLOOR_MS = 1;
const degraded = (before: number, after: number, share: number) => after > before * (1 + share) && after - before > LATENCY_NOISE_FLOOR_MS;

const TIMEOUT_STATES = ['57014', '25P03', '25P04', '57P05'];
const pct = (n: number | null | undefined) => (n === null || n === undefined ? 'n/a' : `${(n * 100).toFixed(2)}%`);
export const SATURATION_SAMPLES = 3;

function loadTimeoutRate(loads: LoadSample[]): number | null {
  const tx = loads.reduce((n, l) => n + l.transactions, 0);
  const errors = loads.reduce((n, l) => n + Object.values(l.errors).reduce((a, b) => a + b, 0), 0);
  const timeouts = loads.reduce((n, l) => n + TIMEOUT_STATES.reduce((a, s) => a + (l.errors[s] ?? 0), 0), 0);
  return tx + errors > 0 ? timeouts / (tx + errors) : null;
}

export function timeoutErrorsTrigger(policy: Policy, base: GuardBaseline, w: WindowObservation): TriggerResult {
  const threshold = policy.rollback_triggers.timeout_errors_increase;
  if (w.loads.length && base.load) {
    const before = loadTimeoutRate([base.load]) ?? 0;
    const after = loadTimeoutRate(w.loads) ?? 0;
    return {
      trigger: 'timeout_errors_increase', measured: true, fired: after - before > threshold, before, after, threshold,
      source: `load sample: SQLSTATE ${TIMEOUT_STATES.join('/')} errors over attempts`,
      summary: `timeout error rate of the load sample ${pct(before)} before → ${pct(after)} in the window (limit: +${pct(threshold)} points)`,
    };
  }
  const fatal = (c: Counters) => c.sessionsFatal ?? 0;
  const rollbacks = w.last.xactRollback - w.first.xactRollback;
  const commits = Math.max(0, w.last.xactCommit - w.first.xactCommit - w.ownTransactions);
  const after = failureRate({ commits, rollbacks, fatal: fatal(w.last) - fatal(w.first) });
  const before = base.failureRate;
  const measured = after !== null && commits + rollbacks >= 10;
  const logNote = w.log ? `; server log: ${w.log.statementTimeouts} statement timeouts, ${w.log.idleTimeouts} idle-in-transaction timeouts` : '';
  return {
    trigger: 'timeout_errors_increase', measured, before, after, threshold,
    fired: measured && after! - (before ?? 0) > threshold,
    source: 'pg_stat_database: (xact_rollback + sessions_fatal) / (xact_commit + xact_rollback); before = since the statistics reset, after = the window',
    summary: measured
      ? `failed-transaction rate ${pct(before)} before → ${pct(after)} in the window (${rollbacks} rollbacks of ${commits + rollbacks} transactions; limit: +${pct(threshold)} points)${logNote}`
      : `too little traffic in the window to measure (${commits + rollbacks} transactions)${logNote}`,
  };
}

export function latencyTrigger(policy: Policy, base: GuardBaseline, w: WindowObservation): TriggerResult {
  const share = policy.rollback_triggers.latency_degradation;
  if (w.loads.length && base.load) {
    const before = base.load.latency.p95Ms;
    const after = Math.max(...w.loads.map((l) => l.latency.p95Ms));
    return {
      trigger: 'latency_degradation', measured: true, fired: degraded(before, after, share), before, after, threshold: share,
      source: 'p95 of the load sample',
      summary: `load p95 ${before.toFixed(2)}ms before → ${after.toFixed(2)}ms in the window (limit: +${Math.round(share * 100)}% and more than ${LATENCY_NOISE_FLOOR_MS}ms)`,
    };
  }
  const s0 = w.first.statements;
  const s1 = w.last.statements;
  const calls = s0 && s1 ? s1.calls - s0.calls : 0;
  if (base.statementMeanMs && s0 && s1 && calls >= 10) {
    const after = (s1.totalMs - s0.totalMs) / calls;
    return {
      trigger: 'latency_degradation', measured: true, fired: degraded(base.statementMeanMs, after, share), before: base.statementMeanMs, after, threshold: share,
      source: "pg_stat_statements: weighted mean time of the baseline's top statements",
      summary: `mean statement time ${base.statementMeanMs.toFixed(2)}ms before → ${after.toFixed(2)}ms in the window over ${calls} calls (limit: +${Math.round(share * 100)}% and more than ${LATENCY_NOISE_FLOOR_MS}ms)`,
    };
  }
  return {
    trigger: 'latency_degradation', measured: false, fired: false, threshold: share, source: 'none available',
    summary: 'not measured: no load sample (--load) and no pg_stat_statements calls of the baseline statements in the window',
  };
}

export function poolTrigger(policy: Policy, w: WindowObservation): TriggerResult {
  const enabled = policy.rollback_triggers.pool_exhaustion;
  const refused = w.loads.reduce((n, l) => n + (l.errors['53300'] ?? 0), 0) + (w.log?.tooManyConnections ?? 0);
  const saturated = w.saturatedSamples >= SATURATION_SAMPLES;
  const peak = Math.max(w.first.connections, w.last.connections);
  return {
    trigger: 'pool_exhaustion', measured: true, fired: enabled && (refused > 0 || saturated), after: refused, threshold: enabled,
    source: 'SQLSTATE 53300 in the load sample and the server log; connections against the limit each sample',
    summary: `${refused} connection(s) refused (53300); ${w.saturatedSamples} consecutive sample(s) at ≥ 95% of the limit of ${w.last.connectionLimit} (fires at ${SATURATION_SAMPLES}); now ${peak} connection(s)` +
      (enabled ? '' : ' — trigger disabled by policy'),
  };
}

export function checksTrigger(policy: Policy, w: WindowObservation): TriggerResult {
  const checks = policy.rollback_triggers.checks;
  const failed = w.checkFailures;
  return {
    trigger: 'checks', measured: checks.length > 0, fired: failed.length > 0, after: failed.length, threshold: true,
    source: 'the policy\'s rollback_triggers.checks (SQL on a fresh session, or shell commands)',
    summary: checks.length
      ? failed.length ? `check(s) failed: ${failed.map((f) => `${f.name} (${f.error})`).join('; ')}` : `${checks.length} check(s) kept succeeding`
      : 'no checks in the policy',
  };
}

export function evaluateTriggers(policy: Policy, base: GuardBaseline, w: WindowObservation): TriggerResult[] {
  return [timeoutErrorsTrigger(policy, base, w), latencyTrigger(policy, base, w), poolTrigger(policy, w), checksTrigger(policy, w)];
}
