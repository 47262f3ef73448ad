import type { LoadResult } from './run-load.js';

/** SQLSTATEs that mean "a limit of the hardening bit": the runbook's "timeout errors". */
export const LIMIT_SQLSTATES = ['57014', '25P03', '25P04', '57P05', '53300'] as const;

export interface LoadComparison {
  /** Relative changes, after vs before: -0.25 = 25 % lower. */
  tpsChange: number;
  p95Change: number;
  p99Change: number;
  /** Errors per attempted transaction, before and after. */
  errorRate: { before: number; after: number };
  /** Limit errors (57014, 25P03, …) per attempted transaction, before and after. */
  limitErrorRate: { before: number; after: number };
}

const attempted = (r: LoadResult) => r.transactions + r.failedTransactions;
const count = (r: LoadResult, codes?: readonly string[]) =>
  Object.entries(r.errors).reduce((n, [code, k]) => n + (!codes || codes.includes(code) ? k : 0), 0);
const rate = (r: LoadResult, codes?: readonly string[]) => (attempted(r) ? count(r, codes) / attempted(r) : 0);
const change = (before: number, after: number) => (before > 0 ? (after - before) / before : 0);

/**
 * Stable API (for `pgharden run`/guard's rollback triggers): how a run compares with a baseline
 * run of the same workload — throughput and latency change, and error rates before and after.
 */
export function compareLoad(before: LoadResult, after: LoadResult): LoadComparison {
  return {
    tpsChange: change(before.tps, after.tps),
    p95Change: change(before.latency.p95Ms, after.latency.p95Ms),
    p99Change: change(before.latency.p99Ms, after.latency.p99Ms),
    errorRate: { before: rate(before), after: rate(after) },
    limitErrorRate: { before: rate(before, LIMIT_SQLSTATES), after: rate(after, LIMIT_SQLSTATES) },
  };
}
