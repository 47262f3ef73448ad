import type { LatencySample } from '../preflight/latency.js';

/**
 * Latencies in microseconds, in log-linear buckets (64 per power of two: ≤ 1.6 % error):
 * recording is an array increment, so the hot loop allocates nothing however long the run,
 * and histograms from worker threads merge by adding counts.
 */
/** [value in µs, count] pairs in ascending value order. */
export type SparseHistogram = [number, number][];

const SUB = 64;
const LINEAR = 2 * SUB; // values below 128 µs are exact
export const HISTOGRAM_BUCKETS = LINEAR + 25 * SUB;

function bucketOf(us: number): number {
  const v = us < 0 ? 0 : us >= 2 ** 31 ? 2 ** 31 - 1 : Math.floor(us);
  if (v < LINEAR) return v;
  const shift = 31 - Math.clz32(v) - 6;
  return LINEAR + (shift - 1) * SUB + ((v >>> shift) - SUB);
}

/** The middle of a bucket, in µs. */
function bucketValue(bucket: number): number {
  if (bucket < LINEAR) return bucket;
  const shift = Math.floor((bucket - LINEAR) / SUB) + 1;
  const low = (((bucket - LINEAR) % SUB) + SUB) * 2 ** shift;
  return low + 2 ** shift / 2;
}

export class LatencyHistogram {
  readonly counts: Float64Array;
  count = 0;
  maxUs = 0;
  sumUs = 0;
  /** Sum of squares, for the standard deviation pgbench prints next to the mean. */
  sumSqUs = 0;

  constructor(counts?: Float64Array) {
    this.counts = counts ?? new Float64Array(HISTOGRAM_BUCKETS);
  }

  record(us: number): void {
    this.counts[bucketOf(us)]++;
    this.count++;
    this.sumUs += us;
    this.sumSqUs += us * us;
    if (us > this.maxUs) this.maxUs = us;
  }

  merge(other: { counts: Float64Array; count: number; maxUs: number; sumUs: number; sumSqUs?: number }): void {
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) this.counts[i] += other.counts[i];
    this.count += other.count;
    this.sumUs += other.sumUs;
    this.sumSqUs += other.sumSqUs ?? 0;
    if (other.maxUs > this.maxUs) this.maxUs = other.maxUs;
  }

  /** The value at fraction `p` (nearest rank, as preflight's percentile()), in µs; never above the true max. */
  percentileUs(p: number): number {
    if (!this.count) return 0;
    const rank = Math.max(1, Math.ceil(p * this.count));
    let seen = 0;
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(bucketValue(i), this.maxUs);
    }
    return this.maxUs;
  }

  /**
   * The non-empty buckets as [value µs, count], ascending (the bucket middle, never above the
   * true max): a compact, JSON-safe copy of the distribution for the latency trigger's statistics.
   * `minus` removes another histogram's counts first (all − second half = first half).
   */
  sparse(minus?: { counts: Float64Array }): SparseHistogram {
    const out: SparseHistogram = [];
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
      const n = this.counts[i] - (minus?.counts[i] ?? 0);
      if (n > 0) out.push([Math.min(bucketValue(i), this.maxUs), n]);
    }
    return out;
  }

  /** The same shape as preflight's summarise(), so baselines and load results compare directly. */
  summary(): LatencySample & { meanMs: number; stddevMs: number } {
    const ms = (us: number) => Math.round(us) / 1000;
    return {
      samples: this.count,
      p50Ms: ms(this.percentileUs(0.5)),
      p95Ms: ms(this.percentileUs(0.95)),
      p99Ms: ms(this.percentileUs(0.99)),
      maxMs: ms(this.maxUs),
      meanMs: this.count ? ms(this.sumUs / this.count) : 0,
      stddevMs: this.count ? ms(Math.sqrt(Math.max(0, this.sumSqUs / this.count - (this.sumUs / this.count) ** 2))) : 0,
    };
  }
}
