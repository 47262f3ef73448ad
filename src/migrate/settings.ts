import { constText } from './ast.js';
import type { MigrationSetting } from './history.js';
import type { Statement } from './sql-file.js';

/** A parameter change a statement makes: `ALTER DATABASE|ROLE … SET|RESET p`, `SET p`, `ALTER SYSTEM SET p`. */
export interface SettingChange {
  scope: 'database' | 'role' | 'session' | 'system';
  /** The database named (ALTER DATABASE d, ALTER ROLE r IN DATABASE d); null otherwise. */
  database: string | null;
  /** The role named (ALTER ROLE r); null for ALTER ROLE ALL and other scopes. */
  role: string | null;
  name: string;
  action: 'set' | 'reset';
  /** The literal value of a SET (list values joined with ", "); null for DEFAULT, CURRENT and RESET. */
  value: string | null;
  local: boolean;
}

const SET_KINDS: Record<string, SettingChange['action']> = {
  VAR_SET_VALUE: 'set',
  VAR_SET_DEFAULT: 'reset',
  VAR_SET_CURRENT: 'set',
  VAR_RESET: 'reset',
};

/** The parameter change `stmt` makes, or null (RESET ALL and SET TRANSACTION name no parameter). */
export function settingChange(stmt: Statement): SettingChange | null {
  const n = stmt.node;
  const where = {
    AlterDatabaseSetStmt: { scope: 'database', database: n.dbname, role: null },
    AlterRoleSetStmt: { scope: 'role', database: n.database ?? null, role: n.role?.rolename ?? null },
    AlterSystemStmt: { scope: 'system', database: null, role: null },
    VariableSetStmt: { scope: 'session', database: null, role: null },
  }[stmt.type] as Pick<SettingChange, 'scope' | 'database' | 'role'> | undefined;
  const set = stmt.type === 'VariableSetStmt' ? n : n.setstmt;
  const action = SET_KINDS[set?.kind];
  if (!where || !action || !set.name) return null;
  const value = set.kind === 'VAR_SET_VALUE' ? (set.args ?? []).map(constText).join(', ') : null;
  return { ...where, name: String(set.name).toLowerCase(), action, value, local: Boolean(set.is_local) };
}

/** `ALTER DATABASE d CONNECTION LIMIT n` → { database, limit }, else null. */
export function connectionLimit(stmt: Statement): { database: string; limit: number } | null {
  if (stmt.type !== 'AlterDatabaseStmt') return null;
  const option = (stmt.node.options ?? []).find((o: any) => o.DefElem?.defname === 'connection_limit');
  return option ? { database: stmt.node.dbname, limit: Number(constText(option.DefElem.arg)) } : null;
}

/** The database a statement names explicitly (ALTER DATABASE d …, ALTER ROLE r IN DATABASE d …), else null. */
export function namedDatabase(stmt: Statement): string | null {
  if (stmt.type === 'AlterDatabaseStmt' || stmt.type === 'AlterDatabaseSetStmt') return stmt.node.dbname ?? null;
  if (stmt.type === 'AlterRoleSetStmt') return stmt.node.database ?? null;
  return null;
}

/**
 * The settings a migration changes beyond its own session, for its history row and `pgharden
 * status`: ALTER DATABASE|ROLE … SET|RESET, CONNECTION LIMIT, ALTER SYSTEM (session SETs are not kept).
 */
export function recordedSettings(statements: Statement[]): MigrationSetting[] {
  const out: MigrationSetting[] = [];
  for (const stmt of statements) {
    const s = settingChange(stmt);
    if (s && s.scope !== 'session')
      out.push({ line: stmt.line, scope: s.scope, database: s.database, role: s.role, name: s.name, action: s.action, value: s.value });
    const cl = connectionLimit(stmt);
    if (cl)
      out.push({
        line: stmt.line,
        scope: 'database',
        database: cl.database,
        role: null,
        name: 'connection_limit',
        action: 'set',
        value: String(cl.limit),
      });
  }
  return out;
}
