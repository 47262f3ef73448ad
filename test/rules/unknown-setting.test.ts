import { describe, expect, it } from 'vitest';
import { lintRule } from './lint-helper.js';

const rule = 'unknown-setting';

describe(rule, () => {
  it('fails a misspelt parameter, suggesting the closest one', async () => {
    const found = await lintRule(rule, "SELECT 1;\nALTER DATABASE ${database} SET statment_timeout = '30s';\nSET idle_in_transaction_timeout = '60s';");
    expect(found.map((d) => [d.line, d.severity])).toEqual([[2, 'error'], [3, 'error']]);
    expect(found[0].fix).toBe('did you mean statement_timeout?');
    expect(found[1].fix).toBe('did you mean idle_in_transaction_session_timeout?');
  });

  it('knows each major: force_parallel_mode exists on 15, not on 18', async () => {
    const sql = 'SET force_parallel_mode = off;';
    expect(await lintRule(rule, sql, { major: 15 })).toEqual([]);
    expect(await lintRule(rule, sql, { major: 18 })).toHaveLength(1);
  });

  it('passes real parameters in any case, custom dotted ones, and those pg_settings hides', async () => {
    expect(await lintRule(rule, [
      "ALTER DATABASE ${database} SET statement_timeout = '30s';",
      "SET TIME ZONE 'UTC';",
      "SET DateStyle = 'ISO, DMY';",
      "ALTER DATABASE ${database} SET myapp.tenant = 'a';",
      'SET ROLE postgres;',
      'RESET ALL;',
    ].join('\n'))).toEqual([]);
  });
});
