import { describe, expect, it } from 'vitest';
import type { Counters } from '../src/guard/counters.js';
import { latencyTrigger, poolTrigger, timeoutErrorsTrigger, type LoadSample, type WindowObservation } from '../src/guard/triggers.js';
import { parsePolicy } from '../src/policy/load.js';

const policy = parsePolicy('rollback_triggers:\n  timeout_errors_increase: 5%\n  latency_degradation: 20%\n', 'test');
const counters = (c: Partial<Counters>): Counters => ({
  at: 0, xactCommit: 0, xactRollback: 0, sessionsFatal: 0, sessionsKilled: 0, sessionsAbandoned: 0, connections: 1, connectionLimit: 100, statements: null, ...c,
});
const load = (p95Ms: number, errors: Record<string, number> = {}): LoadSample => ({ transactions: 1000, errors, latency: { p50Ms: p95Ms / 2, p95Ms, p99Ms: p95Ms, maxMs: p95Ms } });
const window = (w: Partial<WindowObservation>): WindowObservation => ({
  first: counters({}), last: counters({}), ownTransactions: 0, loads: [], log: null, saturatedSamples: 0, checkFailures: [], ...w,
});
const base = { failureRate: 0.01, load: null, statementMeanMs: null, watchedQueryIds: [] };

describe('rollback triggers', () => {
  it('timeout_errors_increase compares the window failure rate with the baseline, in points', () => {
    const small = timeoutErrorsTrigger(policy, base, window({ last: counters({ xactCommit: 95, xactRollback: 5 }) }));
    expect(small).toMatchObject({ measured: true, fired: false });
    const big = timeoutErrorsTrigger(policy, base, window({ last: counters({ xactCommit: 90, xactRollback: 10 }) }));
    expect(big).toMatchObject({ measured: true, fired: true, before: 0.01, after: 0.1 });
  });

  it('our own polling transactions do not dilute the rate, and too little traffic is not measured', () => {
    const seen = { ...base, failureRate: 0.02 };
    const last = counters({ xactCommit: 150, xactRollback: 10 }); // 6.25% over all, 16.7% once our 100 polls are left out
    expect(timeoutErrorsTrigger(policy, seen, window({ last })).fired).toBe(false);
    expect(timeoutErrorsTrigger(policy, seen, window({ last, ownTransactions: 100 })).fired).toBe(true);
    expect(timeoutErrorsTrigger(policy, base, window({ last: counters({ xactCommit: 3, xactRollback: 3 }) }))).toMatchObject({ measured: false, fired: false });
  });

  it('latency_degradation needs both the share and more than the noise floor', () => {
    expect(latencyTrigger(policy, { ...base, load: load(0.15) }, window({ loads: [load(0.8)] })).fired).toBe(false);
    expect(latencyTrigger(policy, { ...base, load: load(10) }, window({ loads: [load(11.5)] })).fired).toBe(false);
    expect(latencyTrigger(policy, { ...base, load: load(10) }, window({ loads: [load(12.5)] })).fired).toBe(true);
    expect(latencyTrigger(policy, base, window({}))).toMatchObject({ measured: false, fired: false });
  });

  it('pool_exhaustion fires on any 53300 or on a saturated limit for 3 samples', () => {
    expect(poolTrigger(policy, window({ loads: [load(1, { '53300': 1 })] })).fired).toBe(true);
    expect(poolTrigger(policy, window({ saturatedSamples: 2 })).fired).toBe(false);
    expect(poolTrigger(policy, window({ saturatedSamples: 3 })).fired).toBe(true);
  });
});
