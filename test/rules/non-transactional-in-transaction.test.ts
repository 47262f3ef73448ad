import { describe, expect, it } from 'vitest';
import { lintRule } from './lint-helper.js';

const rule = 'non-transactional-in-transaction';

describe(rule, () => {
  it('fails statements that cannot run in a transaction block inside BEGIN … COMMIT', async () => {
    const found = await lintRule(
      rule,
      [
        'BEGIN;',
        'CREATE INDEX CONCURRENTLY orders_note ON orders (note);',
        'VACUUM orders;',
        "ALTER SYSTEM SET work_mem = '64MB';",
        'COMMIT;',
      ].join('\n'),
    );
    expect(found.map((d) => [d.line, d.severity])).toEqual([
      [2, 'error'],
      [3, 'error'],
      [4, 'error'],
    ]);
    expect(found[0].message).toMatch(/CREATE INDEX CONCURRENTLY cannot run inside a transaction block/);
  });

  it('passes them outside the transaction, and ordinary DDL inside it', async () => {
    expect(
      await lintRule(
        rule,
        [
          'BEGIN;',
          'CREATE INDEX orders_created ON orders (created_at);',
          'COMMIT;',
          'CREATE INDEX CONCURRENTLY orders_note ON orders (note);',
          'START TRANSACTION;',
          'ANALYZE orders;',
          'END;',
          'VACUUM orders;',
        ].join('\n'),
      ),
    ).toEqual([]);
  });
});
