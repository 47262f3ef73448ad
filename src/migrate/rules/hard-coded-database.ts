import { at, type Finding, type Rule } from '../lint-types.js';
import { DATABASE_PLACEHOLDER, isDatabasePlaceholder } from '../placeholder.js';
import { namedDatabase } from '../settings.js';
import type { Statement } from '../sql-file.js';

export const hardCodedDatabase: Rule = {
  name: 'hard-coded-database',
  severity: 'error',
  summary: `ALTER DATABASE <name> where <name> is not the target database (or ${DATABASE_PLACEHOLDER})`,
  check(file, ctx) {
    // One finding per database name and file, at its first statement: the fix is the same for all.
    const statementsByName = new Map<string, Statement[]>();
    for (const stmt of file.statements) {
      const name = namedDatabase(stmt);
      if (name === null || isDatabasePlaceholder(name) || name === ctx.target?.database) continue;
      statementsByName.set(name, [...(statementsByName.get(name) ?? []), stmt]);
    }
    const fix = `write ${DATABASE_PLACEHOLDER}: pgharden migrate replaces it with the quoted name of the database it runs on`;
    return [...statementsByName].map(([name, [first, ...more]]): Finding => {
      const plural = more.length > 1 ? 's' : '';
      const also = more.length ? ` (and ${more.length} more statement${plural}, line${plural} ${more.map((s) => s.line).join(', ')})` : '';
      return ctx.target
        ? at(
            first,
            `this changes database ${JSON.stringify(name)}${also}, but the migration runs on ${JSON.stringify(ctx.target.database)}`,
            { fix },
          )
        : at(
            first,
            `database ${JSON.stringify(name)} is hard-coded${also}: on any other database (staging, a restored copy) this changes the wrong one or fails`,
            { fix, severity: 'warning' },
          );
    });
  },
};
