import { describe, expect, it } from 'vitest';
import type { SettingRow } from '../../src/pg/catalog.js';
import { lintRule, target } from './lint-helper.js';

const rule = 'rollback-hard-coded-value';
const forward =
  "ALTER DATABASE ${database} SET statement_timeout = '30s';\nALTER DATABASE ${database} SET work_mem = '256MB';\nALTER DATABASE ${database} CONNECTION LIMIT 200;";
// The runbook's rollback: "Should show: 300s", whatever the database held before.
const runbookRollback =
  "ALTER DATABASE ${database} SET statement_timeout = '300s';\nALTER DATABASE ${database} SET work_mem = '256MB';\nALTER DATABASE ${database} CONNECTION LIMIT 200;";
const meta = (name: string, unit: string): SettingRow =>
  ({ name, vartype: 'integer', unit, min: 0, max: 2147483647, enumvals: null }) as SettingRow;
const settings = new Map([
  ['statement_timeout', meta('statement_timeout', 'ms')],
  ['work_mem', meta('work_mem', 'kB')],
]);

describe(rule, () => {
  it('warns when the rollback sets a literal the database did not hold before (unset → RESET; another limit)', async () => {
    const found = await lintRule(rule, forward, {
      rollback: runbookRollback,
      connected: target({ databaseValues: new Map([['work_mem', '64MB']]), connectionLimit: -1, settings }),
    });
    expect(found.map((d) => [d.file, d.line, d.severity])).toEqual([
      ['001_test_rollback.sql', 1, 'warning'],
      ['001_test_rollback.sql', 2, 'warning'],
      ['001_test_rollback.sql', 3, 'warning'],
    ]);
    expect(found[0].message).toMatch(/not set at database level .* RESET statement_timeout/);
    expect(found[1].message).toMatch(/before this migration is '64MB'/);
    expect(found[2].message).toMatch(/limit before this migration is -1/);
    expect(found[0].fix).toMatch(/pgharden render/);
  });

  it('passes literals equal to the captured values, in any unit (5min = 300s)', async () => {
    expect(
      await lintRule(rule, forward, {
        rollback: runbookRollback,
        connected: target({
          databaseValues: new Map([
            ['statement_timeout', '5min'],
            ['work_mem', '262144kB'],
          ]),
          connectionLimit: 200,
          settings,
        }),
      }),
    ).toEqual([]);
  });

  it('says nothing offline, or once the migration is applied (the prior value is gone)', async () => {
    expect(await lintRule(rule, forward, { rollback: runbookRollback })).toEqual([]);
    expect(await lintRule(rule, forward, { rollback: runbookRollback, connected: target({ applied: new Set([1]) }) })).toEqual([]);
  });
});
