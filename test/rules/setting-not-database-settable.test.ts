import { describe, expect, it } from 'vitest';
import { lintRule } from './lint-helper.js';

const rule = 'setting-not-database-settable';

describe(rule, () => {
  it('fails ALTER DATABASE SET of postmaster parameters, naming each line, with the CONNECTION LIMIT fix for max_connections', async () => {
    const found = await lintRule(
      rule,
      [
        'BEGIN;',
        "ALTER DATABASE ${database} SET work_mem = '64MB';",
        'ALTER DATABASE ${database} SET max_connections = 200;',
        '  ALTER DATABASE ${database} SET track_activity_query_size = 4096;',
        'COMMIT;',
      ].join('\n'),
    );
    expect(found.map((d) => [d.line, d.col, d.severity])).toEqual([
      [3, 1, 'error'],
      [4, 3, 'error'],
    ]);
    expect(found[0].message).toMatch(/max_connections is a postmaster parameter/);
    expect(found[0].fix).toMatch(/CONNECTION LIMIT/);
    expect(found[1].fix).toMatch(/ALTER SYSTEM SET track_activity_query_size .* restart/);
  });

  it('fails sighup and internal parameters set per role, with the reload / nothing-to-do fix', async () => {
    const found = await lintRule(rule, 'ALTER ROLE app SET log_checkpoints = on;\nALTER ROLE app IN DATABASE d SET block_size = 16384;');
    expect(found.map((d) => d.line)).toEqual([1, 2]);
    expect(found[0].fix).toMatch(/pg_reload_conf/);
    expect(found[1].message).toMatch(/internal parameter/);
  });

  it('passes user and superuser parameters, session SETs and ALTER SYSTEM', async () => {
    expect(
      await lintRule(
        rule,
        [
          "ALTER DATABASE ${database} SET statement_timeout = '30s';",
          "ALTER DATABASE ${database} SET log_min_duration_statement = '1s';",
          'ALTER DATABASE ${database} CONNECTION LIMIT 200;',
          'SET max_parallel_workers_per_gather = 0;',
          'ALTER SYSTEM SET max_connections = 300;',
        ].join('\n'),
      ),
    ).toEqual([]);
  });

  it('uses the table of the PostgreSQL major asked for (autovacuum_max_workers: postmaster on 15, sighup on 18)', async () => {
    const sql = 'ALTER DATABASE ${database} SET autovacuum_max_workers = 5;';
    expect((await lintRule(rule, sql, { major: 15 }))[0].message).toMatch(/postmaster parameter/);
    expect((await lintRule(rule, sql, { major: 18 }))[0].message).toMatch(/sighup parameter/);
  });

  it('RESET of such a parameter: the fix is to delete the line, not ALTER SYSTEM', async () => {
    const [d] = await lintRule(rule, 'ALTER DATABASE ${database} RESET max_connections;');
    expect(d.message).toMatch(/cannot be reset per database/);
    expect(d.fix).toBe('delete this line: no database can hold a value for max_connections, so there is nothing to reset');
  });
});
