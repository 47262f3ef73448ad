import { describe, expect, it } from 'vitest';
import { lintRule } from './lint-helper.js';

const rule = 'rollback-missing';

describe(rule, () => {
  it('fails a migration with no rollback file beside it', async () => {
    const found = await lintRule(rule, 'ALTER TABLE orders ADD COLUMN note text;', { rollback: null });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ file: '001_test.sql', line: 1, col: 1, severity: 'error' });
    expect(found[0].fix).toMatch(/001_test_rollback\.sql/);
  });

  it('passes when the rollback file exists', async () => {
    expect(await lintRule(rule, 'ALTER TABLE orders ADD COLUMN note text;', { rollback: 'ALTER TABLE orders DROP COLUMN note;' })).toEqual(
      [],
    );
  });
});
