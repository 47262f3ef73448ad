import { at, type Finding, type Rule } from '../lint-types.js';
import { persistentChanges } from '../persistent-changes.js';
import { parseValue } from '../../pg/units.js';
import type { SettingRow } from '../../pg/catalog.js';

/** Whether two values of a parameter are the same to PostgreSQL (`5min` = `300s`). */
function sameValue(meta: SettingRow | undefined, a: string, b: string): boolean {
  if (!meta) return a === b;
  const [x, y] = [parseValue(meta, a), parseValue(meta, b)];
  return x.ok && y.ok ? x.canonical === y.canonical : a === b;
}

export const rollbackHardCodedValue: Rule = {
  name: 'rollback-hard-coded-value',
  severity: 'warning',
  summary: 'a rollback that sets a literal value other than the one the database holds before the migration (connected only)',
  check(file, ctx) {
    const target = ctx.target;
    if (!target || file.kind !== 'forward' || !file.rollback || (file.version !== null && target.applied.has(file.version))) return [];
    const fix = 'render the pair with `pgharden render`: its rollback restores the values captured from the database, not assumed ones';
    const inRollback = { fix, file: file.rollback.path };
    const findings: Finding[] = [];
    for (const c of persistentChanges(file.rollback)) {
      if (c.limit !== null && c.limit !== target.connectionLimit) {
        findings.push(
          at(
            c.stmt,
            `the rollback sets CONNECTION LIMIT ${c.limit}, but the database's limit before this migration is ${target.connectionLimit}`,
            inRollback,
          ),
        );
      }
      const s = c.setting;
      if (!s || s.scope !== 'database' || s.action !== 'set' || s.value === null) continue;
      const prior = target.databaseValues.get(s.name);
      if (prior === undefined) {
        findings.push(
          at(
            c.stmt,
            `the rollback sets ${s.name} = '${s.value}', but ${s.name} is not set at database level before this migration: restore with RESET ${s.name}`,
            inRollback,
          ),
        );
      } else if (!sameValue(target.settings.get(s.name), s.value, prior)) {
        findings.push(
          at(
            c.stmt,
            `the rollback sets ${s.name} = '${s.value}', but its database-level value before this migration is '${prior}'`,
            inRollback,
          ),
        );
      }
    }
    return findings;
  },
};
