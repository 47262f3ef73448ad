import { offlineContext } from '../../src/migrate/lint-context.js';
import type { Diagnostic, LintContext, LintTarget } from '../../src/migrate/lint-types.js';
import { parseInputs, runRules } from '../../src/migrate/lint.js';

const file = (path: string, text: string) => ({ path, text, checksum: '', rawChecksum: '' });

/** A target database as the connected linter would read it; tests override what they need. */
export function target(over: Partial<LintTarget> = {}): LintTarget {
  return {
    database: 'appdb',
    superuser: true,
    canSet: {},
    databaseValues: new Map(),
    connectionLimit: -1,
    settings: new Map(),
    applied: new Set(),
    ...over,
  };
}

/**
 * Lint `forward` as migration 001_test.sql (with `rollback` beside it unless null) and
 * return the findings of `rule` only. Offline (built-in table for PG 18) unless `connected` is given.
 */
export async function lintRule(
  rule: string,
  forward: string,
  opts: { rollback?: string | null; connected?: LintTarget; major?: number } = {},
): Promise<Diagnostic[]> {
  const rollback = opts.rollback === null ? null : file('001_test_rollback.sql', opts.rollback ?? '');
  const parsed = await parseInputs([{ file: file('001_test.sql', forward), version: 1, rollback }]);
  const offline = offlineContext(opts.major);
  const ctx: LintContext = opts.connected ? { catalog: offline.catalog, target: opts.connected } : offline;
  return runRules(parsed, ctx).diagnostics.filter((d) => d.rule === rule);
}
