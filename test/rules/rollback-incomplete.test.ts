import { describe, expect, it } from 'vitest';
import { lintRule } from './lint-helper.js';

const rule = 'rollback-incomplete';
const forward = [
  "ALTER DATABASE ${database} SET statement_timeout = '30s';",
  "ALTER DATABASE ${database} SET work_mem = '256MB';",
  'ALTER DATABASE ${database} CONNECTION LIMIT 200;',
  "ALTER ROLE app SET statement_timeout = '1min';",
].join('\n');

describe(rule, () => {
  it('fails every forward change the rollback does not set or reset', async () => {
    const found = await lintRule(rule, forward, { rollback: 'ALTER DATABASE ${database} RESET statement_timeout;' });
    expect(found.map((d) => [d.line, d.severity])).toEqual([
      [2, 'error'],
      [3, 'error'],
      [4, 'error'],
    ]);
    expect(found[0].message).toMatch(/work_mem would stay/);
    expect(found[1].fix).toMatch(/CONNECTION LIMIT/);
    expect(found[2].message).toMatch(/statement_timeout for role app/);
  });

  it('passes a rollback that resets or sets each one back', async () => {
    expect(
      await lintRule(rule, forward, {
        rollback: [
          'ALTER DATABASE ${database} RESET statement_timeout;',
          "ALTER DATABASE ${database} SET work_mem = '64MB';",
          'ALTER DATABASE ${database} CONNECTION LIMIT -1;',
          'ALTER ROLE app RESET statement_timeout;',
        ].join('\n'),
      }),
    ).toEqual([]);
  });

  it('says nothing of a change that cannot happen: a misspelt parameter or a postmaster one has its own finding', async () => {
    expect(
      await lintRule(
        rule,
        "ALTER DATABASE ${database} SET statment_timeout = '30s';\nALTER DATABASE ${database} SET max_connections = 10;",
        { rollback: 'SELECT 1;' },
      ),
    ).toEqual([]);
    expect(await lintRule(rule, "ALTER DATABASE ${database} SET myapp.flag = 'on';", { rollback: 'SELECT 1;' })).toHaveLength(1);
  });
});
