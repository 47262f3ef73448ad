import type { SparseHistogram } from '../load/histogram.js';

/**
 * The statistics behind the latency trigger. Pure functions on latency distributions, so they
 * can be tested on synthetic samples.
 *
 * Why not "p95 after > p95 before × 1.2": a few-second sample of a mixed workload has a p95 that
 * jumps between two clusters (the app workload's 5 % slow statements sit right on the 95th
 * percentile), so two samples of the same harmless load disagree by 2.5×. Instead each quantile
 * carries a distribution-free confidence interval (order statistics: valid for any shape,
 * bimodal included), the ratio window/baseline is bounded by those intervals, and the trigger
 * fires only when even the lower bound is past the threshold, widened by how much the
 * environment itself moved between the two halves of a sample while nothing changed.
 */

/** z for a two-sided 99 % interval: each bound is wrong at most 0.5 % of the time. */
export const Z = 2.576;

/** A latency change smaller than this is scheduling noise, whatever the ratio (sub-ms latencies double on a busy host). */
export const LATENCY_NOISE_FLOOR_MS = 1;

export interface QuantileEstimate {
  /** Latencies the estimate stands on. */
  n: number;
  /** Point estimate and confidence bounds, in ms. */
  estimate: number;
  lo: number;
  hi: number;
}

/** A latency sample as the trigger sees it: its distribution and that of each half (environment noise). */
export interface LatencyDistribution {
  all: SparseHistogram;
  halves?: [SparseHistogram, SparseHistogram];
}

export const total = (h: SparseHistogram): number => h.reduce((n, [, c]) => n + c, 0);

/** The value (µs) at 1-based `rank` of an ascending sparse histogram. */
function valueAtRank(h: SparseHistogram, rank: number): number {
  let seen = 0;
  for (const [value, count] of h) {
    seen += count;
    if (seen >= rank) return value;
  }
  return h.at(-1)?.[0] ?? 0;
}

/**
 * The `p` quantile with a distribution-free confidence interval: the true quantile lies between
 * the order statistics of ranks np ∓ z·√(np(1−p)) (normal approximation of the binomial).
 * Null when the sample is too small for those ranks to exist: "not enough samples for p".
 */
export function quantileCI(h: SparseHistogram, p: number, z = Z): QuantileEstimate | null {
  const n = total(h);
  const spread = z * Math.sqrt(n * p * (1 - p));
  const loRank = Math.floor(n * p - spread);
  const hiRank = Math.ceil(n * p + spread);
  if (n === 0 || loRank < 1 || hiRank > n) return null;
  const ms = (us: number) => us / 1000;
  return { n, estimate: ms(valueAtRank(h, Math.ceil(n * p))), lo: ms(valueAtRank(h, loRank)), hi: ms(valueAtRank(h, hiRank)) };
}

/** The smallest sample for which quantileCI(p) exists (for the "too few samples" message). */
export function minimumSamples(p: number, z = Z): number {
  for (let n = 1; n < 100_000; n++) {
    const spread = z * Math.sqrt(n * p * (1 - p));
    if (Math.floor(n * p - spread) >= 1 && Math.ceil(n * p + spread) <= n) return n;
  }
  return Infinity;
}

/** Add histograms (the window's back-to-back samples pooled into one). */
export function mergeHistograms(hs: SparseHistogram[]): SparseHistogram {
  const byValue = new Map<number, number>();
  for (const h of hs) for (const [v, c] of h) byValue.set(v, (byValue.get(v) ?? 0) + c);
  return [...byValue.entries()].sort((a, b) => a[0] - b[0]);
}

/** z of the halves' 90 % bounds: drift is counted once it shows beyond sampling noise at that level. */
const Z_DRIFT = 1.645;

/**
 * How far apart the two halves of one sample are (≥ 1): a sample taken while nothing changed
 * shows the environment's own drift (other load on the host, checkpoints, autovacuum). Only the
 * gap between the halves' confidence bounds counts: sampling noise is already in the main
 * comparison's bounds, and counting it twice would blunt the trigger for small samples.
 */
export function halvesSpread(d: LatencyDistribution, p: number): number | null {
  if (!d.halves) return null;
  const [a, b] = d.halves.map((h) => quantileCI(h, p, Z_DRIFT));
  if (!a || !b || a.lo <= 0 || b.lo <= 0) return null;
  return Math.max(1, a.lo / b.hi, b.lo / a.hi);
}

export interface QuantileComparison {
  /** 0.5 = median, 0.95 = p95. */
  p: number;
  measured: boolean;
  /** Why not, when not measured. */
  reason?: string;
  before?: QuantileEstimate;
  after?: QuantileEstimate;
  /** window / baseline: point estimate and the bounds the two intervals allow. */
  ratio?: number;
  ratioLo?: number;
  ratioHi?: number;
  /** The environment's own spread (≥ 1): the baseline's halves, or the typical window sample's, whichever is larger. */
  noise?: number;
  /** How much slower a control session got over the same periods (≥ 1): the host's slowdown, not the change's. */
  machine?: number;
  /** The ratio the lower bound must pass: (1 + share) × noise × machine. */
  threshold?: number;
  fired: boolean;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : null;
};

/**
 * Compare quantile `p` of the window's samples (pooled) with the baseline sample. Fires only
 * when the lower bound of window/baseline exceeds (1 + share) × noise and the increase is more
 * than the absolute noise floor.
 */
export function compareQuantile(
  p: number,
  base: LatencyDistribution,
  window: LatencyDistribution[],
  share: number,
  floorMs = LATENCY_NOISE_FLOOR_MS,
  machine = 1,
): QuantileComparison {
  const before = quantileCI(base.all, p);
  const after = quantileCI(mergeHistograms(window.map((w) => w.all)), p);
  if (!before || !after || before.lo <= 0) {
    const need = minimumSamples(p);
    return {
      p,
      measured: false,
      fired: false,
      before: before ?? undefined,
      after: after ?? undefined,
      reason: `too few samples for the ${label(p)} (${total(base.all)} before, ${window.reduce((n, w) => n + total(w.all), 0)} in the window; it needs ${need} each)`,
    };
  }
  const windowSpread = median(window.map((w) => halvesSpread(w, p)).filter((s): s is number => s !== null));
  const noise = Math.max(1, halvesSpread(base, p) ?? 1, windowSpread ?? 1);
  const threshold = (1 + share) * noise * machine;
  const ratioLo = after.lo / before.hi;
  const fired = ratioLo > threshold && after.lo - before.hi > floorMs;
  return {
    p,
    measured: true,
    fired,
    before,
    after,
    noise,
    machine,
    threshold,
    ratioLo,
    ratio: after.estimate / before.estimate,
    ratioHi: after.hi / before.lo,
  };
}

export const label = (p: number) => (p === 0.5 ? 'median' : `p${Math.round(p * 100)}`);

/** One line a DBA can check by hand. */
export function describeComparison(c: QuantileComparison): string {
  if (!c.measured) return `${label(c.p)} not measured: ${c.reason}`;
  const f = (n: number) => (n < 10 ? n.toFixed(2) : n.toFixed(0));
  return (
    `${label(c.p)} ${f(c.before!.estimate)}ms → ${f(c.after!.estimate)}ms (×${c.ratio!.toFixed(2)}, 99% bounds ×${c.ratioLo!.toFixed(2)}–×${c.ratioHi!.toFixed(2)}` +
    `; fires when the lower bound passes ×${c.threshold!.toFixed(2)}${c.noise! > 1.001 ? `, +share × the environment's own spread ×${c.noise!.toFixed(2)}` : ''}` +
    `${(c.machine ?? 1) > 1.001 ? `, × the control session's own slowdown ×${c.machine!.toFixed(2)}` : ''}` +
    ` and the increase exceeds ${LATENCY_NOISE_FLOOR_MS}ms)`
  );
}

/** Running totals of statement times (pg_stat_statements: calls, Σ time, Σ time²). */
export interface TimeTotals {
  calls: number;
  totalMs: number;
  sumSquaresMs: number;
}

/**
 * Mean statement time before vs in the window with normal confidence bounds on each mean
 * (the pooled variance includes the spread between statements, so a shift in the statement mix
 * is part of the noise, not a finding).
 */
export function compareMeans(before: TimeTotals, window: TimeTotals, share: number, minCalls = 30, floorMs = LATENCY_NOISE_FLOOR_MS) {
  const stat = (t: TimeTotals) => {
    const mean = t.totalMs / t.calls;
    const variance = Math.max(0, t.sumSquaresMs / t.calls - mean * mean);
    const half = (Z * Math.sqrt(variance)) / Math.sqrt(t.calls);
    return { n: t.calls, estimate: mean, lo: Math.max(0, mean - half), hi: mean + half };
  };
  if (before.calls < minCalls || window.calls < minCalls)
    return {
      measured: false as const,
      fired: false,
      reason: `too few calls (${before.calls} before, ${window.calls} in the window; it needs ${minCalls} each)`,
    };
  const b = stat(before);
  const a = stat(window);
  if (b.estimate <= 0) return { measured: false as const, fired: false, reason: 'no measurable time before' };
  const ratioLo = b.hi > 0 ? a.lo / b.hi : 0;
  return {
    measured: true as const,
    before: b,
    after: a,
    ratio: a.estimate / b.estimate,
    ratioLo,
    fired: ratioLo > 1 + share && a.lo - b.hi > floorMs,
  };
}
