import { describe, expect, it } from 'vitest';
import { timeoutEvidence } from '../src/report/evidence.js';
import { displayValue, settingRows } from '../src/report/settings.js';
import type { RunRecord } from '../src/run/run.js';

/**
 * The parts of the report model that the browser test's servers cannot reach: pg_stat_statements
 * (not preloaded on the test servers) and a record whose keys jsonb reordered. The record holds
 * only the fields these functions read.
 */
const record = (over: Partial<Record<string, unknown>>) =>
  ({
    runId: 'r1',
    database: 'app',
    policySource: 'policy.yaml',
    approvedBy: null,
    stages: [],
    guard: null,
    verify: null,
    apply: null,
    policy: { settings: { statement_timeout: '30s', work_mem: '256MB' }, contacts: {} },
    baseline: {
      settings: [
        { name: 'statement_timeout', setting: '0', unit: 'ms' },
        { name: 'work_mem', setting: '4096', unit: 'kB' },
        { name: 'log_min_duration_statement', setting: '-1', unit: 'ms' },
      ],
      dbRoleSettings: { dbSettings: [{ name: 'work_mem', value: '8192kB' }] },
      database: { connLimit: -1 },
      statements: [
        { queryid: '1', query: 'SELECT * FROM orders ORDER BY created', calls: 40, meanMs: 45_000, maxMs: 90_000 },
        { queryid: '2', query: 'SELECT 1', calls: 10_000, meanMs: 0.1, maxMs: 3 },
        { queryid: '3', query: 'REFRESH MATERIALIZED VIEW totals', calls: 2, meanMs: 12_000, maxMs: 31_000 },
      ],
    },
    ...over,
  }) as unknown as RunRecord;

describe('report model', () => {
  it('lists the pg_stat_statements rows the new statement_timeout will cancel, biggest total time first', () => {
    const rows = timeoutEvidence(record({}));
    expect(rows.map((r) => [r.source, r.statement, r.count, r.meanMs])).toEqual([
      ['pg_stat_statements', 'SELECT * FROM orders ORDER BY created', 40, 45_000],
      ['pg_stat_statements', 'REFRESH MATERIALIZED VIEW totals', 2, 12_000],
    ]);
    expect(rows[0].note).toMatch(/mean already exceeds/);
  });

  it('writes values in PostgreSQL display units, as SHOW and plan do', () => {
    const r = record({});
    expect(displayValue(r, 'work_mem', '4096')).toBe('4MB');
    expect(displayValue(r, 'work_mem', '8192kB')).toBe('8MB');
    expect(displayValue(r, 'statement_timeout', '300000')).toBe('5min');
    expect(displayValue(r, 'log_min_duration_statement', '-1')).toBe('-1');
    expect(displayValue(r, 'unknown_param', 'on')).toBe('on');
  });

  it("keeps the plan's order of the settings when jsonb has reordered the policy's keys", () => {
    const r = record({
      // jsonb order: shortest key first
      policy: { settings: { work_mem: '256MB', statement_timeout: '30s' }, contacts: {} },
      apply: { plan: { rows: [{ setting: 'statement_timeout' }, { setting: 'work_mem' }] } },
    });
    expect(settingRows(r).map((s) => [s.setting, s.before, s.target])).toEqual([
      ['statement_timeout', 'not set (server: 0)', '30s'],
      ['work_mem', '8MB', '256MB'],
    ]);
  });
});
