import { describe, expect, it } from 'vitest';
import { lintRule } from './lint-helper.js';

const rule = 'require-lock-timeout';

describe(rule, () => {
  it('one warning per file, at the first statement, naming every table (an index by its table, a view as a view)', async () => {
    const found = await lintRule(
      rule,
      'ALTER TABLE orders ADD COLUMN note text;\nTRUNCATE audit.log;\nDROP INDEX orders_note;\nALTER VIEW v RENAME TO w;',
    );
    expect(found.map((d) => [d.line, d.severity])).toEqual([[1, 'warning']]);
    expect(found[0].message).toBe(
      '4 statements take ACCESS EXCLUSIVE locks with no lock_timeout: table orders (line 1), table audit.log (line 2), ' +
        'the table of index orders_note (line 3), view v (line 4); behind one long transaction each waits, and every query on those relations queues behind it',
    );
  });

  it('passes once lock_timeout is set earlier in the file (SET or SET LOCAL)', async () => {
    expect(await lintRule(rule, "BEGIN;\nSET LOCAL lock_timeout = '5s';\nALTER TABLE orders ADD COLUMN note text;\nCOMMIT;")).toEqual([]);
  });

  it('warns after the transaction whose SET LOCAL lock_timeout covered the earlier DDL', async () => {
    const found = await lintRule(
      rule,
      "BEGIN;\nSET LOCAL lock_timeout = '5s';\nALTER TABLE a ADD COLUMN x int;\nCOMMIT;\nALTER TABLE b ADD COLUMN y int;",
    );
    expect(found.map((d) => d.line)).toEqual([5]);
    expect(found[0].message).toMatch(/^this statement takes an ACCESS EXCLUSIVE lock with no lock_timeout: table b \(line 5\);/);
  });

  it('warns again after lock_timeout is set back to 0', async () => {
    expect(await lintRule(rule, "SET lock_timeout = '5s';\nSET lock_timeout = 0;\nALTER TABLE orders DROP COLUMN note;")).toHaveLength(1);
  });

  it('passes tables created in the same file and statements that take weaker locks', async () => {
    expect(
      await lintRule(
        rule,
        [
          'CREATE TABLE notes (id int);',
          'ALTER TABLE notes ADD COLUMN body text;',
          'CREATE INDEX CONCURRENTLY orders_note ON orders (note);',
          'LOCK orders IN SHARE MODE;',
          'ANALYZE orders;',
        ].join('\n'),
      ),
    ).toEqual([]);
  });
});
