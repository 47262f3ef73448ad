import { at, type Finding, type Rule } from '../lint-types.js';
import { settingChange } from '../settings.js';

/** What to write instead, by context: these parameters are read when the server starts or reloads, never per database or role. */
const FIX: Record<string, (p: string) => string> = {
  postmaster: (p) =>
    p === 'max_connections'
      ? 'to cap this database, ALTER DATABASE ${database} CONNECTION LIMIT n (below max_connections); to change the server, ALTER SYSTEM SET max_connections = n and restart'
      : `ALTER SYSTEM SET ${p} = … (or postgresql.conf), then restart the server`,
  sighup: (p) => `ALTER SYSTEM SET ${p} = … (or postgresql.conf), then SELECT pg_reload_conf()`,
  internal: (p) => `nothing: ${p} is fixed when PostgreSQL is built or the cluster is initialised`,
};

export const settingNotDatabaseSettable: Rule = {
  name: 'setting-not-database-settable',
  severity: 'error',
  summary: 'ALTER DATABASE|ROLE … SET of a postmaster, sighup or internal parameter: PostgreSQL refuses it (SQLSTATE 55P02)',
  check(file, ctx) {
    const findings: Finding[] = [];
    for (const stmt of file.statements) {
      const change = settingChange(stmt);
      if (!change || (change.scope !== 'database' && change.scope !== 'role')) continue;
      const context = ctx.catalog.contextOf(change.name);
      if (!context || !(context in FIX)) continue;
      // RESET of such a parameter: no database or role can hold a value for it, so there is nothing to undo.
      const reset = change.action === 'reset';
      findings.push(
        at(
          stmt,
          `${change.name} is a ${context} parameter (${ctx.catalog.description}): it cannot be ${reset ? 'reset' : 'set'} per ${change.scope}, so this statement fails`,
          {
            fix: reset
              ? `delete this line: no ${change.scope} can hold a value for ${change.name}, so there is nothing to reset`
              : FIX[context](change.name),
          },
        ),
      );
    }
    return findings;
  },
};
