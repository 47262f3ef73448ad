import { describe, expect, it } from 'vitest';
import { lintRule } from './lint-helper.js';

const rule = 'unknown-setting';

describe(rule, () => {
  it('fails a misspelt parameter, suggesting the closest one', async () => {
    const found = await lintRule(
      rule,
      "SELECT 1;\nALTER DATABASE ${database} SET statment_timeout = '30s';\nSET idle_in_transaction_timeout = '60s';",
    );
    expect(found.map((d) => [d.line, d.severity])).toEqual([
      [2, 'error'],
      [3, 'error'],
    ]);
    expect(found[0].fix).toBe('did you mean statement_timeout?');
    expect(found[1].fix).toBe('did you mean idle_in_transaction_session_timeout?');
  });

  it('knows each major: force_parallel_mode exists on 15, not on 18', async () => {
    const sql = 'SET force_parallel_mode = off;';
    expect(await lintRule(rule, sql, { major: 15 })).toEqual([]);
    expect(await lintRule(rule, sql, { major: 18 })).toHaveLength(1);
  });

  it('passes real parameters in any case, custom dotted ones, and those pg_settings hides', async () => {
    expect(
      await lintRule(
        rule,
        [
          "ALTER DATABASE ${database} SET statement_timeout = '30s';",
          "SET TIME ZONE 'UTC';",
          "SET DateStyle = 'ISO, DMY';",
          "ALTER DATABASE ${database} SET myapp.tenant = 'a';",
          'SET ROLE postgres;',
          'RESET ALL;',
        ].join('\n'),
      ),
    ).toEqual([]);
  });

  it('--pg-version 15 does not accept parameters added later: transaction_timeout (17+), io_method (18+)', async () => {
    const on15 = await lintRule(rule, "SET transaction_timeout = '1min';\nALTER SYSTEM SET io_method = 'worker';", { major: 15 });
    expect(on15.map((d) => [d.line, d.severity, d.message])).toEqual([
      [1, 'error', 'transaction_timeout is not a known parameter (built-in table for PostgreSQL 15): this statement fails'],
      [2, 'error', 'io_method is not a known parameter (built-in table for PostgreSQL 15): this statement fails'],
    ]);
    expect(await lintRule(rule, "SET transaction_timeout = '1min';", { major: 17 })).toEqual([]);
    expect(await lintRule(rule, "SET io_method = 'worker';", { major: 17 })).toHaveLength(1);
  });

  it('io_method on 15 is not called a postmaster parameter (it does not exist there)', async () => {
    expect(await lintRule('setting-not-database-settable', "ALTER DATABASE ${database} SET io_method = 'worker';", { major: 15 })).toEqual(
      [],
    );
    expect(
      await lintRule('setting-not-database-settable', "ALTER DATABASE ${database} SET io_method = 'worker';", { major: 18 }),
    ).toHaveLength(1);
  });
});
