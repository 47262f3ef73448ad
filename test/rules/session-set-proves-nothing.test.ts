import { describe, expect, it } from 'vitest';
import { lintRule } from './lint-helper.js';

const rule = 'session-set-proves-nothing';

describe(rule, () => {
  it('warns at a current_setting() check that follows a plain SET of the same parameter', async () => {
    const found = await lintRule(
      rule,
      [
        "SET statement_timeout = '30s';",
        'DO $$ BEGIN ASSERT true; END $$;',
        "SELECT current_setting('statement_timeout') = '30s' AS hardened;",
      ].join('\n'),
    );
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ line: 3, severity: 'warning' });
    expect(found[0].message).toMatch(/SET on line 1/);
  });

  it('also catches SHOW and a pg_settings lookup', async () => {
    const found = await lintRule(
      rule,
      "SET work_mem = '256MB';\nSHOW work_mem;\nSET lock_timeout = '1s';\nSELECT setting FROM pg_settings WHERE name = 'lock_timeout';",
    );
    expect(found.map((d) => d.line)).toEqual([2, 4]);
  });

  it('passes a check of a parameter set with ALTER DATABASE, and a check before any SET', async () => {
    expect(
      await lintRule(
        rule,
        [
          "SELECT current_setting('work_mem');",
          "ALTER DATABASE ${database} SET statement_timeout = '30s';",
          "SELECT current_setting('statement_timeout');",
          "SET lock_timeout = '5s';",
          "SELECT current_setting('work_mem');",
        ].join('\n'),
      ),
    ).toEqual([]);
  });

  it('also inside DO blocks: a SET before the block, or SET / set_config then current_setting within it', async () => {
    const before = await lintRule(
      rule,
      "SET statement_timeout = '30s';\nDO $$\nBEGIN\n  IF current_setting('statement_timeout') <> '30s' THEN RAISE EXCEPTION 'not hardened'; END IF;\nEND $$;",
    );
    expect(before.map((d) => d.line)).toEqual([2]);
    const within = await lintRule(
      rule,
      "DO $$\nBEGIN\n  PERFORM set_config('work_mem', '256MB', false);\n  ASSERT current_setting('work_mem') = '256MB';\nEND $$;",
    );
    expect(within.map((d) => [d.line, d.message.startsWith('this DO block SETs work_mem and then checks it')])).toEqual([[1, true]]);
    // SET LOCAL and a check of another parameter are fine; so is a check with no SET anywhere.
    expect(
      await lintRule(rule, "DO $$\nBEGIN\n  SET LOCAL work_mem = '1MB';\n  ASSERT current_setting('statement_timeout') <> '0';\nEND $$;"),
    ).toEqual([]);
  });
});
