import { at, type Finding, type Rule } from '../lint-types.js';
import { settingChange } from '../settings.js';

/** Settable through SET but hidden from pg_settings (GUC_NO_SHOW_ALL). */
const HIDDEN = new Set(['role', 'session_authorization', 'seed', 'is_superuser']);

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}

export const unknownSetting: Rule = {
  name: 'unknown-setting',
  severity: 'error',
  summary: 'SET or ALTER … SET of a parameter the server does not have (a typo): PostgreSQL refuses it (SQLSTATE 42704)',
  check(file, ctx) {
    const findings: Finding[] = [];
    for (const stmt of file.statements) {
      const change = settingChange(stmt);
      // Dotted names are custom parameters (myapp.flag): PostgreSQL accepts any.
      if (!change || change.name.includes('.') || HIDDEN.has(change.name) || ctx.catalog.contextOf(change.name)) continue;
      const [closest] = ctx.catalog
        .names()
        .map((n) => ({ n, d: distance(change.name, n) }))
        .filter((x) => x.d <= Math.max(2, Math.floor(change.name.length / 3)))
        .sort((x, y) => x.d - y.d);
      findings.push(
        at(stmt, `${change.name} is not a known parameter (${ctx.catalog.description}): this statement fails`, {
          fix: closest ? `did you mean ${closest.n}?` : 'check the name in pg_settings; custom parameters need a prefix (myapp.name)',
        }),
      );
    }
    return findings;
  },
};
