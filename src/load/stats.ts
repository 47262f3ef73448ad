import { LatencyHistogram } from './histogram.js';

/** Plain data (structured-clone safe): what a group of clients measured, sent back from a worker thread. */
export interface StatsSnapshot {
  counts: Float64Array;
  count: number;
  maxUs: number;
  sumUs: number;
  sumSqUs: number;
  /** The same latencies, only those recorded in the second half of the run (see LoadStats.secondHalf). */
  late: { counts: Float64Array; count: number; maxUs: number; sumUs: number };
  transactions: number;
  failed: number;
  reconnects: number;
  errors: Record<string, number>;
  errorsByStep: Record<string, Record<string, number>>;
  /** The first message seen for each SQLSTATE, so a report can say what 57014 was about. */
  messages: Record<string, string>;
}

/** Counters of one group of clients; errors are rare, so plain objects are fine for them. */
export class LoadStats {
  readonly latency = new LatencyHistogram();
  /**
   * Latencies of the second half of the run only: comparing the two halves of one sample shows
   * how much the environment itself moved while nothing changed (the latency trigger's noise).
   */
  readonly lateLatency = new LatencyHistogram();
  secondHalf = false;
  transactions = 0;
  failed = 0;
  reconnects = 0;
  readonly errors: Record<string, number> = {};
  readonly errorsByStep: Record<string, Record<string, number>> = {};
  readonly messages: Record<string, string> = {};

  success(latencyUs: number): void {
    this.transactions++;
    this.latency.record(latencyUs);
    if (this.secondHalf) this.lateLatency.record(latencyUs);
  }

  error(step: string, sqlstate: string, message: string): void {
    this.errors[sqlstate] = (this.errors[sqlstate] ?? 0) + 1;
    const byStep = (this.errorsByStep[step] ??= {});
    byStep[sqlstate] = (byStep[sqlstate] ?? 0) + 1;
    this.messages[sqlstate] ??= message;
  }

  get errorCount(): number {
    return Object.values(this.errors).reduce((a, b) => a + b, 0);
  }

  snapshot(): StatsSnapshot {
    const h = this.latency;
    return {
      counts: h.counts,
      count: h.count,
      maxUs: h.maxUs,
      sumUs: h.sumUs,
      sumSqUs: h.sumSqUs,
      late: {
        counts: this.lateLatency.counts,
        count: this.lateLatency.count,
        maxUs: this.lateLatency.maxUs,
        sumUs: this.lateLatency.sumUs,
      },
      transactions: this.transactions,
      failed: this.failed,
      reconnects: this.reconnects,
      errors: this.errors,
      errorsByStep: this.errorsByStep,
      messages: this.messages,
    };
  }

  merge(s: StatsSnapshot): void {
    this.latency.merge(s);
    this.lateLatency.merge(s.late);
    this.transactions += s.transactions;
    this.failed += s.failed;
    this.reconnects += s.reconnects;
    for (const [code, n] of Object.entries(s.errors)) this.errors[code] = (this.errors[code] ?? 0) + n;
    for (const [step, codes] of Object.entries(s.errorsByStep)) {
      const mine = (this.errorsByStep[step] ??= {});
      for (const [code, n] of Object.entries(codes)) mine[code] = (mine[code] ?? 0) + n;
    }
    for (const [code, m] of Object.entries(s.messages)) this.messages[code] ??= m;
  }
}
