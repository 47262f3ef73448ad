import { describe, expect, it } from 'vitest';
import { CounterWindow, type Counters } from '../src/guard/counters.js';
import { compareQuantile, quantileCI, type LatencyDistribution } from '../src/guard/latency-stats.js';
import { drawLoadSample } from '../src/guard/load-sample.js';
import {
  evaluateTriggers,
  latencyTrigger,
  poolTrigger,
  timeoutErrorsTrigger,
  type GuardBaseline,
  type LoadSample,
  type WindowObservation,
} from '../src/guard/triggers.js';
import type { SparseHistogram } from '../src/load/histogram.js';
import { parsePolicy } from '../src/policy/parse.js';

const policy = parsePolicy('rollback_triggers:\n  timeout_errors_increase: 5%\n  latency_degradation: 20%\n', 'test');
const counters = (c: Partial<Counters> = {}): Counters => ({
  at: 0,
  xactCommit: 0,
  xactRollback: 0,
  sessions: 0,
  sessionsFatal: 0,
  sessionsKilled: 0,
  sessionsAbandoned: 0,
  connections: 1,
  connectionLimit: 100,
  statements: null,
  ...c,
});
/** A window whose counters went from zero to `last`. */
const window = (w: Partial<WindowObservation> & { to?: Partial<Counters> } = {}): WindowObservation => {
  const cw = new CounterWindow(counters());
  cw.add(counters(w.to));
  return {
    first: counters(),
    last: cw.last,
    deltas: cw.deltas,
    ownTransactions: 0,
    loads: [],
    log: null,
    saturatedSamples: 0,
    peakConnections: 1,
    poolReadings: 1,
    checkFailures: [],
    ...w,
  };
};
const base: GuardBaseline = { failureRate: 0.01, load: null, statementMeanMs: null, watchedQueryIds: [] };

/** Deterministic pseudo-random numbers (a test that fails must fail the same way every time). */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** Latencies (ms) → the sparse histogram the load generator keeps (µs, exact here). */
function hist(ms: number[]): SparseHistogram {
  const m = new Map<number, number>();
  for (const v of ms) m.set(Math.round(v * 1000), (m.get(Math.round(v * 1000)) ?? 0) + 1);
  return [...m.entries()].sort((a, b) => a[0] - b[0]);
}
const distribution = (ms: number[]): LatencyDistribution => ({
  all: hist(ms),
  halves: [hist(ms.slice(0, ms.length >> 1)), hist(ms.slice(ms.length >> 1))],
});
const sample = (ms: number[], errors: Record<string, number> = {}): LoadSample => {
  const sorted = [...ms].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? 0;
  return {
    transactions: ms.length,
    failedTransactions: Object.values(errors).reduce((a, b) => a + b, 0),
    errors,
    latency: { p50Ms: q(0.5), p95Ms: q(0.95), p99Ms: q(0.99), maxMs: q(1) },
    distribution: distribution(ms),
  };
};

/**
 * The default --load workload's mix: 60 % reads, 25 % writes (sub-ms), 10 % transactions that
 * think 200 ms, and `slowShare` of 500 ms statements. `slow` is an exact count, so a test can
 * put the 95th percentile on either side of the boundary.
 */
function appMix(n: number, slowCount: number, seed: number, scale = 1): number[] {
  const r = rng(seed);
  const out: number[] = [];
  for (let i = 0; i < n - slowCount; i++) {
    const x = r() * 0.95;
    out.push(scale * (x < 0.6 ? 0.15 + 0.1 * r() : x < 0.85 ? 0.3 + 0.3 * r() : 200 + 2 * r()));
  }
  for (let i = 0; i < slowCount; i++) out.splice(Math.floor(r() * out.length), 0, scale * (500 + 3 * r()));
  return out;
}

describe('latency trigger statistics', () => {
  it('a bimodal workload whose 95th percentile sits on the boundary does not fire (the old p95 rule did)', () => {
    const before = sample(appMix(440, 19, 1)); // 4.3 % slow: p95 lands on the 200 ms cluster
    const after = sample(appMix(440, 25, 2)); //  5.7 % slow: p95 lands on the 500 ms cluster
    expect(before.latency.p95Ms).toBeLessThan(210);
    expect(after.latency.p95Ms).toBeGreaterThan(490);
    expect(after.latency.p95Ms > before.latency.p95Ms * 1.2).toBe(true); // what fired before: 2 of 4 harmless runs
    const t = latencyTrigger(policy, { ...base, load: before }, window({ loads: [after] }));
    expect(t.measured).toBe(true);
    expect(t.fired).toBe(false);
    // The p95's interval spans both clusters, so the ratio's lower bound is far below 1.2.
    const p95 = compareQuantile(0.95, before.distribution!, [after.distribution!], 0.2);
    expect(p95.ratioLo!).toBeLessThan(1);
  });

  it('a real 2× slowdown fires, and the reason says by how much', () => {
    const r = rng(3);
    const work = (k: number) => Array.from({ length: 400 }, () => k * (5 + 10 * r()));
    const t = latencyTrigger(policy, { ...base, load: sample(work(1)) }, window({ loads: [sample(work(2))] }));
    expect(t).toMatchObject({ measured: true, fired: true });
    expect(t.summary).toMatch(/median .*ms → .*ms \(×(1\.[89]|2\.[01])/);
  });

  it('the same 2× slowdown of the default app mix is below the 1 ms noise floor for the median, so it is judged but does not fire', () => {
    const t = latencyTrigger(policy, { ...base, load: sample(appMix(440, 22, 4)) }, window({ loads: [sample(appMix(440, 22, 5, 2))] }));
    expect(t.measured).toBe(true);
    expect(t.fired).toBe(false);
  });

  it('too few samples is "not measured", never a pass', () => {
    const t = latencyTrigger(policy, { ...base, load: sample([1, 2, 3]) }, window({ loads: [sample([2, 3, 4])] }));
    expect(t).toMatchObject({ measured: false, fired: false });
    expect(t.summary).toMatch(/too few samples for the median \(3 before, 3 in the window; it needs \d+ each\)/);
    expect(latencyTrigger(policy, base, window())).toMatchObject({ measured: false, fired: false });
  });

  it("the environment's own spread (the baseline's two halves) widens the threshold", () => {
    const r = rng(6);
    const drifting = [...Array.from({ length: 300 }, () => 10 + r()), ...Array.from({ length: 300 }, () => 16 + r())];
    const slower = sample(Array.from({ length: 600 }, () => 22 + r()));
    // The same numbers without their halves: ×1.37 at the lower bound, past ×1.2, fires.
    const noHalves = { ...sample(drifting), distribution: { all: hist(drifting) } };
    expect(latencyTrigger(policy, { ...base, load: noHalves }, window({ loads: [slower] })).fired).toBe(true);
    // A baseline that itself moved ×1.45 between its halves while nothing changed: the bar is ×1.2 × that, it does not fire.
    const t = latencyTrigger(policy, { ...base, load: sample(drifting) }, window({ loads: [slower] }));
    expect(t.fired).toBe(false);
    expect(t.summary).toMatch(/environment's own spread ×1\.[3-6]/);
  });

  it('a host that got slower for everyone (the control session too) is not the change: no fire', () => {
    const r = rng(8);
    const work = (k: number) => Array.from({ length: 400 }, () => k * (5 + 10 * r()));
    const ctl = (k: number) => distribution(Array.from({ length: 300 }, () => k * (0.2 + 0.05 * r())));
    const before = { ...sample(work(1)), control: ctl(1) };
    const busyHost = latencyTrigger(policy, { ...base, load: before }, window({ loads: [{ ...sample(work(2)), control: ctl(2.2) }] }));
    expect(busyHost.fired).toBe(false);
    expect(busyHost.summary).toMatch(/control session's own slowdown ×2\.[0-4]/);
    const change = latencyTrigger(policy, { ...base, load: before }, window({ loads: [{ ...sample(work(2)), control: ctl(1) }] }));
    expect(change.fired).toBe(true);
  });

  it('quantile bounds hold their coverage: 1,000 pairs of samples of one distribution almost never fire', () => {
    const r = rng(7);
    let fired = 0;
    for (let i = 0; i < 1000; i++) {
      const draw = () => Array.from({ length: 200 }, () => 2 + 20 * r() ** 3);
      if (compareQuantile(0.5, distribution(draw()), [distribution(draw())], 0, 0).fired) fired++;
    }
    // Even with share 0 and no floor, a 99% two-sided bound on each side rarely excludes the truth.
    expect(fired).toBeLessThan(15);
    const twenty = hist(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(quantileCI(twenty, 0.5)).toMatchObject({ n: 20, estimate: 10, lo: 4, hi: 16 });
    expect(quantileCI(twenty, 0.95)).toBeNull(); // the 95th percentile of 20 values has no upper bound inside the sample
  });
});

describe('timeout and pool triggers name their cause by SQLSTATE', () => {
  it('timeouts in the load sample fire timeout_errors_increase with their SQLSTATE counts', () => {
    const before = sample(Array(400).fill(1));
    const after = sample(Array(380).fill(1), { '57014': 20, '25P03': 5 });
    const t = timeoutErrorsTrigger(policy, { ...base, load: before }, window({ loads: [after] }));
    expect(t).toMatchObject({ measured: true, fired: true, sqlstates: { '57014': 20, '25P03': 5 } });
    expect(t.summary).toMatch(/timeouts: load sample: 20× 57014, 5× 25P03 in 405 transactions/);
  });

  it('refused logins (each counts one rollback and one FATAL in pg_stat_database) are not timeouts', () => {
    // What the database limit did in the issue: 0.00% → 61.54% "failed transactions".
    const refused = window({ to: { xactCommit: 50, xactRollback: 80, sessionsFatal: 80 }, loads: [] });
    expect(timeoutErrorsTrigger(policy, base, refused)).toMatchObject({ measured: true, fired: false });
    const stmtErrors = window({ to: { xactCommit: 50, xactRollback: 30, sessionsFatal: 0 } });
    expect(timeoutErrorsTrigger(policy, base, stmtErrors)).toMatchObject({ measured: true, fired: true });
  });

  it('too little traffic is not measured, and our own polling does not dilute the rate', () => {
    const last = { xactCommit: 150, xactRollback: 10 }; // 6.25 % of all, 16.7 % once our 100 polls are left out
    expect(timeoutErrorsTrigger(policy, { ...base, failureRate: 0.02 }, window({ to: last })).fired).toBe(false);
    expect(timeoutErrorsTrigger(policy, { ...base, failureRate: 0.02 }, window({ to: last, ownTransactions: 100 })).fired).toBe(true);
    expect(timeoutErrorsTrigger(policy, base, window({ to: { xactCommit: 3, xactRollback: 3 } }))).toMatchObject({
      measured: false,
      fired: false,
    });
  });

  it('the server log decides over pg_stat_database when given, by SQLSTATE', () => {
    const log = { format: 'csvlog' as const, bySqlstate: { '53300': 40 }, fromMessageText: false, reopened: 0 };
    const w = window({ to: { xactCommit: 100, xactRollback: 40, sessionsFatal: 0 }, log }); // PG < 14-like: the refusals show as rollbacks
    expect(timeoutErrorsTrigger(policy, base, w).fired).toBe(false);
    const p = poolTrigger(policy, w);
    expect(p).toMatchObject({ fired: true, sqlstates: { '53300': 40 } });
    expect(p.summary).toMatch(/pool exhausted: server log: 40 login\(s\) refused with 53300/);
  });

  it('pool_exhaustion fires on a 53300 in the load sample or on a saturated limit for 3 readings', () => {
    expect(poolTrigger(policy, window({ loads: [sample([1], { '53300': 1 })] })).fired).toBe(true);
    expect(poolTrigger(policy, window({ saturatedSamples: 2 })).fired).toBe(false);
    expect(poolTrigger(policy, window({ saturatedSamples: 3 })).fired).toBe(true);
  });

  it('a load sample that rejects (first login refused) becomes a sample carrying its SQLSTATE', async () => {
    const refused = Object.assign(new Error('too many connections for database "x"'), { code: '53300' });
    const s = await drawLoadSample(() => Promise.reject(refused), 1000);
    expect(s).toMatchObject({ transactions: 0, errors: { '53300': 1 }, failure: expect.stringMatching(/too many connections/) });
    expect(poolTrigger(policy, window({ loads: [s] }))).toMatchObject({ fired: true, sqlstates: { '53300': 1 } });
    expect(timeoutErrorsTrigger(policy, base, window({ loads: [s] })).fired).toBe(false);
  });
});

describe('require_measured and counters', () => {
  it('a window with no traffic is "not measured"; require_measured turns that into a failed guard at the end', () => {
    const strict = parsePolicy('require_measured: [timeout_errors_increase, latency_degradation]\n', 'test');
    const quiet = window({ to: { xactCommit: 2 } });
    const during = evaluateTriggers(strict, base, quiet);
    expect(during.filter((t) => t.fired)).toEqual([]);
    expect(during.find((t) => t.trigger === 'latency_degradation')).toMatchObject({ measured: false, fired: false });
    const final = evaluateTriggers(strict, base, quiet, { final: true });
    expect(final.filter((t) => t.fired).map((t) => t.trigger)).toEqual(['timeout_errors_increase', 'latency_degradation']);
    expect(final.find((t) => t.trigger === 'latency_degradation')!.summary).toMatch(
      /^not measured, and the policy requires it \(require_measured\)/,
    );
    expect(evaluateTriggers(policy, base, quiet, { final: true }).filter((t) => t.fired)).toEqual([]);
    expect(() => parsePolicy('require_measured: [checks]\n', 'test')).toThrow();
  });

  it('counters that go backwards (statistics reset, crash restart) count again from zero', () => {
    const cw = new CounterWindow(counters({ xactCommit: 1000, xactRollback: 10 }));
    cw.add(counters({ xactCommit: 1100, xactRollback: 12 }));
    cw.add(counters({ xactCommit: 30, xactRollback: 1 })); // reset: 30 since
    cw.add(counters({ xactCommit: 50, xactRollback: 1 }));
    expect(cw.deltas).toMatchObject({ commits: 150, rollbacks: 3, resets: 1 });
  });
});
