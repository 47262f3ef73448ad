import { describe, expect, it } from 'vitest';
import { lintRule } from './lint-helper.js';

const rule = 'require-lock-timeout';

describe(rule, () => {
  it('warns at ALTER TABLE, TRUNCATE and DROP TABLE on existing tables with no lock_timeout', async () => {
    const found = await lintRule(rule, 'ALTER TABLE orders ADD COLUMN note text;\nTRUNCATE audit.log;\nDROP TABLE old_orders;');
    expect(found.map((d) => [d.line, d.severity])).toEqual([[1, 'warning'], [2, 'warning'], [3, 'warning']]);
    expect(found[1].message).toMatch(/ACCESS EXCLUSIVE lock on audit\.log/);
  });

  it('passes once lock_timeout is set earlier in the file (SET or SET LOCAL)', async () => {
    expect(await lintRule(rule, "BEGIN;\nSET LOCAL lock_timeout = '5s';\nALTER TABLE orders ADD COLUMN note text;\nCOMMIT;")).toEqual([]);
  });

  it("warns after the transaction whose SET LOCAL lock_timeout covered the earlier DDL", async () => {
    const found = await lintRule(rule, "BEGIN;\nSET LOCAL lock_timeout = '5s';\nALTER TABLE a ADD COLUMN x int;\nCOMMIT;\nALTER TABLE b ADD COLUMN y int;");
    expect(found.map((d) => d.line)).toEqual([5]);
  });

  it('warns again after lock_timeout is set back to 0', async () => {
    expect(await lintRule(rule, "SET lock_timeout = '5s';\nSET lock_timeout = 0;\nALTER TABLE orders DROP COLUMN note;")).toHaveLength(1);
  });

  it('passes tables created in the same file and statements that take weaker locks', async () => {
    expect(await lintRule(rule, [
      'CREATE TABLE notes (id int);',
      'ALTER TABLE notes ADD COLUMN body text;',
      'CREATE INDEX CONCURRENTLY orders_note ON orders (note);',
      'LOCK orders IN SHARE MODE;',
      'ANALYZE orders;',
    ].join('\n'))).toEqual([]);
  });
});
