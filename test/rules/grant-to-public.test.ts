import { describe, expect, it } from 'vitest';
import { lintRule } from './lint-helper.js';

const rule = 'grant-to-public';

describe(rule, () => {
  it('warns at GRANT … TO PUBLIC', async () => {
    const found = await lintRule(
      rule,
      'SELECT 1;\nGRANT SELECT ON orders TO app, PUBLIC;\nGRANT CONNECT ON DATABASE ${database} TO public;',
    );
    expect(found.map((d) => [d.line, d.severity])).toEqual([
      [2, 'warning'],
      [3, 'warning'],
    ]);
    expect(found[0].fix).toMatch(/group role/);
  });

  it('passes grants to named roles and REVOKE … FROM PUBLIC', async () => {
    expect(await lintRule(rule, 'GRANT SELECT ON orders TO app_readers;\nREVOKE ALL ON DATABASE ${database} FROM PUBLIC;')).toEqual([]);
  });
});
