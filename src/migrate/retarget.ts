import type { Statement } from './sql-file.js';

/** `ALTER DATABASE name` / `… IN DATABASE name`, the name quoted or not. */
const ALTER_DATABASE = /^(ALTER\s+DATABASE\s+)("(?:[^"]|"")*"|[^\s;]+)/i;
const IN_DATABASE = /(\bIN\s+DATABASE\s+)("(?:[^"]|"")*"|[^\s;]+)/i;

/**
 * On a shadow database, a statement that names another database by hand (`ALTER DATABASE
 * "codex_memory" SET …`, what `${database}` avoids) would change that real database on the
 * server, or fail where it does not exist. The shadow stands in for the target database, so the
 * statement is pointed at the shadow instead. Returns the statement to run and whether it changed.
 */
export function retargetDatabase(stmt: Statement, shadowQuoted: string, shadowName: string): { stmt: Statement; from: string | null } {
  const n = stmt.node;
  let re: RegExp | null = null;
  let name: string | undefined;
  if (stmt.type === 'AlterDatabaseSetStmt' || stmt.type === 'AlterDatabaseStmt' || stmt.type === 'AlterDatabaseRefreshCollStmt') {
    re = ALTER_DATABASE;
    name = n.dbname;
  } else if (stmt.type === 'AlterRoleSetStmt' && n.database) {
    re = IN_DATABASE;
    name = n.database;
  }
  if (!re || !name || name === shadowName || !re.test(stmt.sql)) return { stmt, from: null };
  return { stmt: { ...stmt, sql: stmt.sql.replace(re, (_m, lead: string) => `${lead}${shadowQuoted}`) }, from: name };
}
