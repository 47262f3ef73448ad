import { describe, expect, it } from 'vitest';
import { lintRule, target } from './lint-helper.js';

const rule = 'superuser-setting';
const sql = "SELECT 1;\nALTER DATABASE ${database} SET log_min_duration_statement = '1s';";

describe(rule, () => {
  it('warns offline: the applying role must be a superuser', async () => {
    const [d, ...rest] = await lintRule(rule, sql);
    expect(rest).toEqual([]);
    expect(d).toMatchObject({ line: 2, col: 1, severity: 'warning' });
    expect(d.fix).toMatch(/GRANT SET ON PARAMETER log_min_duration_statement/);
  });

  it('is an error when connected as a role that is neither superuser nor granted SET on the parameter', async () => {
    const found = await lintRule(rule, sql, { connected: target({ superuser: false, canSet: { log_min_duration_statement: false } }) });
    expect(found.map((d) => d.severity)).toEqual(['error']);
  });

  it('passes when connected as a superuser, or as a role granted SET on it', async () => {
    expect(await lintRule(rule, sql, { connected: target({ superuser: true }) })).toEqual([]);
    expect(await lintRule(rule, sql, { connected: target({ superuser: false, canSet: { log_min_duration_statement: true } }) })).toEqual(
      [],
    );
  });

  it('passes user-context parameters', async () => {
    expect(await lintRule(rule, "ALTER DATABASE ${database} SET statement_timeout = '30s';")).toEqual([]);
  });
});
