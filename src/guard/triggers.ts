import type { Policy } from '../policy/schema.js';
import { statementFailureRate, type CounterDeltas, type Counters } from './counters.js';
import { compareMeans, compareQuantile, describeComparison, total, type LatencyDistribution } from './latency-stats.js';
import type { LogCounts } from './log-scan.js';

export type TriggerName = 'timeout_errors_increase' | 'latency_degradation' | 'pool_exhaustion' | 'checks';
export const MEASURABLE_TRIGGERS = ['timeout_errors_increase', 'latency_degradation', 'pool_exhaustion'] as const;

/** One source of evidence for a trigger, kept apart from the others so the reason names it. */
export interface TriggerSource {
  source: 'load' | 'log' | 'pg_stat_database' | 'pg_stat_statements' | 'connections' | 'checks';
  measured: boolean;
  fired: boolean;
  summary: string;
}

export interface TriggerResult {
  trigger: TriggerName;
  fired: boolean;
  /** False when there was nothing to measure it with (reported as "not measured", never as passed). */
  measured: boolean;
  /** Why it could not be measured. */
  notMeasured?: string;
  /** Not measured, and the policy's require_measured names it: that alone fails the guard. */
  requiredButNotMeasured?: boolean;
  /** One sentence with the numbers; for a fired trigger, its cause. */
  summary: string;
  before?: number | null;
  after?: number | null;
  threshold?: number | boolean;
  /** The SQLSTATE counts behind it (window), where the server said them. */
  sqlstates?: Record<string, number>;
  /** Where the numbers came from (one line). */
  source: string;
  sources: TriggerSource[];
}

/** What the baseline says "normal" was, for the comparisons. */
export interface GuardBaseline {
  /** Statement failure rate from pg_stat_database since the statistics were reset (FATAL session ends left out: see statementFailureRate). */
  failureRate: number | null;
  /** Load sample before the change (with --load): same workload, clients and duration as each window sample. */
  load: LoadSample | null;
  /** Mean time of the baseline's top pg_stat_statements entries (for the record; the trigger uses the running totals). */
  statementMeanMs: number | null;
  /** Their query ids: the window's statistics are taken over the same statements. */
  watchedQueryIds: string[];
}

/** The part of a load-generator result the triggers need. */
export interface LoadSample {
  transactions: number;
  /** Transactions that ended in an error (the timeout rate's denominator is transactions + these). */
  failedTransactions?: number;
  errors: Record<string, number>;
  latency: { p50Ms: number; p95Ms: number; p99Ms: number; maxMs: number };
  /** Every latency (bucketed) and those of each half of the sample: the latency trigger's statistics. */
  distribution?: LatencyDistribution;
  /** `SELECT 1` latencies on a tool session measured during the sample: the host's own slowdown, which the change cannot cause. */
  control?: LatencyDistribution;
  /** The sample could not run (its first login refused, …): the error, counted in `errors` by SQLSTATE. */
  failure?: string;
}

/** What the window has seen so far. */
export interface WindowObservation {
  /** The first reading (window start): its pg_stat_statements totals are the statements' "before". */
  first: Counters;
  last: Counters;
  /** Increments since the first reading, counter by counter (resets handled). */
  deltas: CounterDeltas;
  /** Transactions our own polling added to xact_commit: subtracted so we don't dilute the rate. */
  ownTransactions: number;
  loads: LoadSample[];
  /** The server log's entries by SQLSTATE (with --log). */
  log: LogCounts | null;
  /** Longest run of consecutive samples at ≥ 95 % of the connection limit. */
  saturatedSamples: number;
  peakConnections: number;
  /** Readings of the connection count taken (0: the pool was never looked at). */
  poolReadings: number;
  checkFailures: { name: string; error: string }[];
}

export const SATURATION_SAMPLES = 3;
/** A rate from fewer attempts than this is not a measurement. */
export const MIN_ATTEMPTS = 20;
/** A rise needs at least this many failures behind it: one timeout in 15 attempts is not a 6.7 % rate. */
export const MIN_EVENTS = 3;

/** 57014 statement timeout (and cancel requests), 25P03 idle-in-transaction, 25P04 transaction_timeout (17+). */
export const TIMEOUT_STATES = ['57014', '25P03', '25P04'];
export const POOL_STATES = ['53300'];

const pct = (n: number | null | undefined) => (n === null || n === undefined ? 'n/a' : `${(n * 100).toFixed(2)}%`);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const pick = (codes: Record<string, number>, states: string[]) =>
  Object.fromEntries(states.filter((s) => codes[s]).map((s) => [s, codes[s]]));
const countOf = (codes: Record<string, number>, states: string[]) => sum(states.map((s) => codes[s] ?? 0));
const codesText = (codes: Record<string, number>) =>
  Object.entries(codes)
    .map(([k, v]) => `${v}× ${k}`)
    .join(', ') || 'none';

function addCodes(samples: LoadSample[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of samples) for (const [k, v] of Object.entries(l.errors)) out[k] = (out[k] ?? 0) + v;
  return out;
}

/** Attempts of a load sample: finished transactions plus failed ones (a refused login attempted nothing). */
const attempts = (l: LoadSample) => l.transactions + (l.failedTransactions ?? countOf(l.errors, TIMEOUT_STATES));

/** Transactions in the window per pg_stat_database, our own polling left out. */
function windowTransactions(w: WindowObservation): { total: number; rolledBack: number } {
  const rolledBack = Math.max(0, w.deltas.rollbacks - (w.deltas.fatal ?? 0));
  return { total: Math.max(0, w.deltas.commits - w.ownTransactions) + rolledBack, rolledBack };
}

export function timeoutErrorsTrigger(policy: Policy, base: GuardBaseline, w: WindowObservation): TriggerResult {
  const threshold = policy.rollback_triggers.timeout_errors_increase;
  const sources: TriggerSource[] = [];
  const limit = `limit: +${pct(threshold)} points`;
  // Without a load baseline the "before" is the whole failure rate: every timeout is a failure, so that is an upper bound.
  const dbBefore = base.failureRate ?? 0;

  // 1. The load sample's errors by SQLSTATE: the probe workload, before vs in the window.
  let loadCodes: Record<string, number> = {};
  if (w.loads.length) {
    loadCodes = pick(addCodes(w.loads), TIMEOUT_STATES);
    const tried = sum(w.loads.map(attempts));
    const timeouts = countOf(loadCodes, TIMEOUT_STATES);
    const before = base.load && attempts(base.load) ? countOf(base.load.errors, TIMEOUT_STATES) / attempts(base.load) : dbBefore;
    const after = tried ? timeouts / tried : null;
    const measured = tried >= MIN_ATTEMPTS;
    sources.push({
      source: 'load',
      measured,
      fired: measured && timeouts >= MIN_EVENTS && after! - before > threshold,
      summary: measured
        ? `load sample: ${codesText(loadCodes)} in ${tried} transactions = ${pct(after)} (before ${pct(before)}; ${limit})`
        : `load sample: not measured, ${tried} transaction(s) attempted (needs ${MIN_ATTEMPTS})`,
    });
  }

  // 2. The server log by SQLSTATE, over the window's transactions from pg_stat_database.
  const tx = windowTransactions(w);
  let logCodes: Record<string, number> = {};
  if (w.log) {
    logCodes = pick(w.log.bySqlstate, TIMEOUT_STATES);
    const timeouts = countOf(logCodes, TIMEOUT_STATES);
    const measured = tx.total >= MIN_ATTEMPTS;
    const after = tx.total ? timeouts / tx.total : null;
    const note = w.log.fromMessageText ? ' (stderr log: read from English message text, lc_messages dependent)' : '';
    sources.push({
      source: 'log',
      measured,
      fired: measured && timeouts >= MIN_EVENTS && after! - dbBefore > threshold,
      summary: measured
        ? `server log (${w.log.format ?? 'empty'}): ${codesText(logCodes)} over ${tx.total} transactions = ${pct(after)} (before ≤ ${pct(dbBefore)}; ${limit})${note}`
        : `server log: ${codesText(logCodes)}, but only ${tx.total} transaction(s) in the window (needs ${MIN_ATTEMPTS})${note}`,
    });
  }

  // 3. pg_stat_database: statement-level rollbacks. No SQLSTATE here, so it only decides when the log cannot.
  const after = tx.total ? tx.rolledBack / tx.total : null;
  const dbMeasured = tx.total >= MIN_ATTEMPTS;
  const poolPressure = w.deltas.fatal === null && (countOf(addCodes(w.loads), POOL_STATES) > 0 || w.saturatedSamples > 0);
  const d = w.deltas;
  const sessions =
    d.fatal === null
      ? 'sessions_fatal not available before PostgreSQL 14: refused logins and terminations count as rollbacks here'
      : `sessions ended by FATAL ${d.fatal} (idle-in-transaction terminations or refused logins: --log or --load tells which), killed ${d.killed ?? 0}, abandoned ${d.abandoned ?? 0}`;
  sources.push({
    source: 'pg_stat_database',
    measured: dbMeasured,
    fired: dbMeasured && !w.log && !poolPressure && tx.rolledBack >= MIN_EVENTS && after! - dbBefore > threshold,
    summary: dbMeasured
      ? `pg_stat_database: ${tx.rolledBack} of ${tx.total} transactions rolled back by a statement error = ${pct(after)} (before ${pct(base.failureRate)}; cause not named by this source; ${sessions})`
      : `pg_stat_database: not measured, ${tx.total} transaction(s) in the window (needs ${MIN_ATTEMPTS}); ${sessions}`,
  });

  const fired = sources.filter((s) => s.fired);
  const measured = sources.some((s) => s.measured);
  const sqlstates = { ...loadCodes };
  for (const [k, v] of Object.entries(logCodes)) sqlstates[k] = Math.max(sqlstates[k] ?? 0, v);
  return {
    trigger: 'timeout_errors_increase',
    measured,
    fired: fired.length > 0,
    threshold,
    sqlstates,
    before: base.failureRate,
    after,
    notMeasured: measured ? undefined : 'too little traffic in the window: ' + sources.map((s) => s.summary).join('; '),
    source:
      'SQLSTATE 57014/25P03/25P04 in the load sample and the server log; pg_stat_database statement rollbacks (FATAL session ends kept apart)',
    summary: fired.length ? `timeouts: ${fired.map((s) => s.summary).join('; ')}` : sources.map((s) => s.summary).join('; '),
    sources,
  };
}

export function latencyTrigger(policy: Policy, base: GuardBaseline, w: WindowObservation): TriggerResult {
  const share = policy.rollback_triggers.latency_degradation;
  const sources: TriggerSource[] = [];
  const windows = w.loads.map((l) => l.distribution).filter((d): d is LatencyDistribution => Boolean(d));
  let headline: { before: number; after: number } | null = null;
  if (w.loads.length) {
    if (!base.load?.distribution) {
      sources.push({
        source: 'load',
        measured: false,
        fired: false,
        summary: 'load sample: not measured, the baseline sample kept no latency distribution',
      });
    } else {
      // The median is the typical transaction; the p95 the tail (measured only when the samples are large enough for it).
      // The control session's slowdown over the same periods is the machine's, not the change's: the bar rises with it.
      const controls = w.loads.map((l) => l.control).filter((d): d is LatencyDistribution => Boolean(d));
      const control = base.load.control && controls.length ? compareQuantile(0.5, base.load.control, controls, 0, 0) : null;
      const machine = control?.measured ? Math.max(1, control.ratio!) : 1;
      const comparisons = [0.5, 0.95].map((p) => compareQuantile(p, base.load!.distribution!, windows, share, undefined, machine));
      const median = comparisons[0];
      if (median.measured) headline = { before: median.before!.estimate, after: median.after!.estimate };
      sources.push({
        source: 'load',
        measured: comparisons.some((c) => c.measured),
        fired: comparisons.some((c) => c.fired),
        summary:
          `load sample (${total(base.load.distribution.all)} transactions before, ${sum(windows.map((d) => total(d.all)))} in the window): ` +
          comparisons.map(describeComparison).join('; '),
      });
    }
  }
  const loadMeasured = sources.some((s) => s.measured);
  if (!loadMeasured && w.first.statements && w.deltas.statements) {
    const c = compareMeans(w.first.statements, w.deltas.statements, share);
    sources.push({
      source: 'pg_stat_statements',
      measured: c.measured,
      fired: c.fired,
      summary: c.measured
        ? `pg_stat_statements, the baseline's top statements: mean ${c.before.estimate.toFixed(2)}ms → ${c.after.estimate.toFixed(2)}ms over ${c.after.n} calls (×${c.ratio.toFixed(2)}, 99% lower bound ×${c.ratioLo.toFixed(2)}; fires above ×${(1 + share).toFixed(2)} and +1ms)`
        : `pg_stat_statements: not measured, ${c.reason}`,
    });
    if (c.measured) headline ??= { before: c.before.estimate, after: c.after.estimate };
  }
  const measured = sources.some((s) => s.measured);
  const fired = sources.filter((s) => s.fired);
  const why = sources.length
    ? sources.map((s) => s.summary).join('; ')
    : 'no load sample (--load) and no pg_stat_statements totals of the baseline statements';
  return {
    trigger: 'latency_degradation',
    measured,
    fired: fired.length > 0,
    threshold: share,
    before: headline?.before ?? null,
    after: headline?.after ?? null,
    notMeasured: measured ? undefined : why,
    source:
      'median and p95 of the load sample against the baseline sample, with distribution-free 99% bounds; else pg_stat_statements mean time',
    summary: measured ? (fired.length ? fired : sources).map((s) => s.summary).join('; ') : `not measured: ${why}`,
    sources,
  };
}

export function poolTrigger(policy: Policy, w: WindowObservation): TriggerResult {
  const enabled = policy.rollback_triggers.pool_exhaustion;
  const loadRefused = countOf(addCodes(w.loads), POOL_STATES);
  const logRefused = w.log ? countOf(w.log.bySqlstate, POOL_STATES) : 0;
  const saturated = w.saturatedSamples >= SATURATION_SAMPLES;
  const sources: TriggerSource[] = [];
  if (w.loads.length)
    sources.push({
      source: 'load',
      measured: true,
      fired: enabled && loadRefused > 0,
      summary: `load sample: ${loadRefused} login(s) refused with 53300`,
    });
  if (w.log)
    sources.push({
      source: 'log',
      measured: true,
      fired: enabled && logRefused > 0,
      summary: `server log: ${logRefused} login(s) refused with 53300`,
    });
  sources.push({
    source: 'connections',
    measured: w.poolReadings > 0,
    fired: enabled && saturated,
    summary: `connections peaked at ${w.peakConnections} of the limit ${w.last.connectionLimit}; ${w.saturatedSamples} consecutive reading(s) at ≥ 95% (fires at ${SATURATION_SAMPLES})`,
  });
  const fired = sources.filter((s) => s.fired);
  const measured = sources.some((s) => s.measured);
  const refused = loadRefused + logRefused;
  return {
    trigger: 'pool_exhaustion',
    measured,
    fired: fired.length > 0,
    after: refused,
    threshold: enabled,
    sqlstates: refused ? { '53300': Math.max(loadRefused, logRefused) } : {},
    notMeasured: measured ? undefined : 'no reading of the connection count in the window',
    source: 'SQLSTATE 53300 in the load sample and the server log; connections against the limit each reading',
    summary:
      (fired.length ? `pool exhausted: ${fired.map((s) => s.summary).join('; ')}` : sources.map((s) => s.summary).join('; ')) +
      (enabled ? '' : ' — trigger disabled by policy'),
    sources,
  };
}

export function checksTrigger(policy: Policy, w: WindowObservation): TriggerResult {
  const checks = policy.rollback_triggers.checks;
  const failed = w.checkFailures;
  return {
    trigger: 'checks',
    measured: checks.length > 0,
    fired: failed.length > 0,
    after: failed.length,
    threshold: true,
    notMeasured: checks.length ? undefined : 'no checks in the policy',
    source: "the policy's rollback_triggers.checks (SQL on a fresh session, or shell commands)",
    summary: checks.length
      ? failed.length
        ? `check(s) failed: ${failed.map((f) => `${f.name} (${f.error})`).join('; ')}`
        : `${checks.length} check(s) kept succeeding`
      : 'no checks in the policy',
    sources: [{ source: 'checks', measured: checks.length > 0, fired: failed.length > 0, summary: `${failed.length} failure(s)` }],
  };
}

/**
 * All triggers. `final` (the window is over): a trigger the policy's require_measured names and
 * that could not be measured fails the guard — during the window it may still get its data.
 */
export function evaluateTriggers(
  policy: Policy,
  base: GuardBaseline,
  w: WindowObservation,
  opts: { final?: boolean } = {},
): TriggerResult[] {
  const results = [
    timeoutErrorsTrigger(policy, base, w),
    latencyTrigger(policy, base, w),
    poolTrigger(policy, w),
    checksTrigger(policy, w),
  ];
  if (!opts.final) return results;
  const required = new Set<string>(policy.require_measured);
  return results.map((t) =>
    required.has(t.trigger) && !t.measured
      ? {
          ...t,
          fired: true,
          requiredButNotMeasured: true,
          summary: `not measured, and the policy requires it (require_measured): ${t.notMeasured ?? t.summary}`,
        }
      : t,
  );
}
