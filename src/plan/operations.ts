import { listKind, listValueSql, storedListText } from '../pg/guc-list.js';
import { quoteIdent, quoteLiteral, quoteParamName } from '../pg/quote.js';

/**
 * One change to a database's configuration. Each operation owns its forward SQL and
 * its inverse, computed from the state captured before the change.
 */
export interface Operation {
  readonly kind: 'set' | 'reset' | 'connection_limit' | 'role_set' | 'role_reset';
  /** The parameter, or `connection_limit`. */
  readonly name: string;
  /** For role_set/role_reset: the role whose value in this database changes (ALTER ROLE r IN DATABASE d). */
  readonly role?: string;
  /** Database-level (or, for role ops, role-in-database) value before the change (null: none set; for connection_limit the old limit). */
  readonly before: string | null;
  /** Database-level value after the change (null: none). */
  readonly after: string | null;
  forwardSql(database: string): string;
  inverseSql(database: string): string;
}

/**
 * The value part of `SET name = …` for a value as pg_db_role_setting stores it: a literal,
 * or for list parameters (search_path, …) one literal per element. null when only the exact
 * path of `setSql` can store this text (see listValueSql).
 */
export function valueSql(name: string, stored: string): string | null {
  const kind = listKind(name);
  return kind ? listValueSql(kind, stored) : quoteLiteral(stored);
}

/**
 * Make the database-level entry hold exactly `stored`, byte for byte as setconfig will show
 * it. A list text that no element list reproduces (e.g. `search_path=App,public`, written by
 * `SET … FROM CURRENT`) is copied through the session's own value with FROM CURRENT, and the
 * session's value is put back in the same transaction so our later statements resolve names
 * as before.
 */
export function setSql(db: string, name: string, stored: string, role?: string): string {
  const target = `${alterTarget(db, role)} SET ${quoteParamName(name)}`;
  const value = valueSql(name, stored);
  if (value !== null) return `${target} = ${value};`;
  const n = quoteLiteral(name);
  return [
    `SELECT pg_catalog.set_config('pgharden.session_value', pg_catalog.current_setting(${n}), true);`,
    `SELECT pg_catalog.set_config(${n}, ${quoteLiteral(stored)}, true);`,
    `${target} FROM CURRENT;`,
    `SELECT pg_catalog.set_config(${n}, pg_catalog.current_setting('pgharden.session_value'), true);`,
  ].join(' ');
}

/** What setconfig will hold after the policy sets `raw`: list values in the server's own form (`app2, public`). */
export function storedValue(name: string, raw: string | number | boolean): string {
  const kind = listKind(name);
  return (kind && storedListText(kind, String(raw))) ?? String(raw);
}

/** Whose entry in pg_db_role_setting a statement changes: the database's, or one role's within the database. */
const alterTarget = (db: string, role?: string) =>
  role === undefined ? `ALTER DATABASE ${quoteIdent(db)}` : `ALTER ROLE ${quoteIdent(role)} IN DATABASE ${quoteIdent(db)}`;

export const resetSql = (db: string, name: string, role?: string) => `${alterTarget(db, role)} RESET ${quoteParamName(name)};`;
export const connectionLimitSql = (db: string, limit: number) => `ALTER DATABASE ${quoteIdent(db)} CONNECTION LIMIT ${Math.trunc(limit)};`;
/** Put a parameter back to `value`, or remove the database-level (or role-in-database) entry when there was none. */
export const restoreSql = (db: string, name: string, value: string | null, role?: string) =>
  value === null ? resetSql(db, name, role) : setSql(db, name, value, role);

export class SetOperation implements Operation {
  readonly kind = 'set';
  constructor(
    readonly name: string,
    readonly before: string | null,
    readonly after: string,
  ) {}
  forwardSql(db: string) {
    return setSql(db, this.name, this.after);
  }
  inverseSql(db: string) {
    return restoreSql(db, this.name, this.before);
  }
}

export class ResetOperation implements Operation {
  readonly kind = 'reset';
  readonly after = null;
  constructor(
    readonly name: string,
    readonly before: string,
  ) {}
  forwardSql(db: string) {
    return resetSql(db, this.name);
  }
  inverseSql(db: string) {
    return setSql(db, this.name, this.before);
  }
}

export class ConnectionLimitOperation implements Operation {
  readonly kind = 'connection_limit';
  readonly name = 'connection_limit';
  readonly before: string;
  readonly after: string;
  constructor(before: number, after: number) {
    this.before = String(before);
    this.after = String(after);
  }
  forwardSql(db: string) {
    return connectionLimitSql(db, Number(this.after));
  }
  inverseSql(db: string) {
    return connectionLimitSql(db, Number(this.before));
  }
}

/** A declared role value: ALTER ROLE r IN DATABASE d SET name = after; the inverse puts back the role's own prior entry. */
export class RoleSetOperation implements Operation {
  readonly kind = 'role_set';
  constructor(
    readonly role: string,
    readonly name: string,
    readonly before: string | null,
    readonly after: string,
  ) {}
  forwardSql(db: string) {
    return setSql(db, this.name, this.after, this.role);
  }
  inverseSql(db: string) {
    return restoreSql(db, this.name, this.before, this.role);
  }
}

/** A role value the policy removes (`null`): ALTER ROLE r IN DATABASE d RESET name. */
export class RoleResetOperation implements Operation {
  readonly kind = 'role_reset';
  readonly after = null;
  constructor(
    readonly role: string,
    readonly name: string,
    readonly before: string,
  ) {}
  forwardSql(db: string) {
    return resetSql(db, this.name, this.role);
  }
  inverseSql(db: string) {
    return setSql(db, this.name, this.before, this.role);
  }
}

/** How steps and messages name an operation: `statement_timeout`, or `statement_timeout for role reporting`. */
export const operationLabel = (op: { name: string; role?: string }) => (op.role === undefined ? op.name : `${op.name} for role ${op.role}`);

/** The plain-data form stored in the journal and the run directory. */
export interface OperationRecord {
  kind: Operation['kind'];
  name: string;
  /** Present on role_set/role_reset records only. */
  role?: string;
  before: string | null;
  after: string | null;
  forward: string;
  inverse: string;
}

export function toRecord(op: Operation, database: string): OperationRecord {
  return {
    kind: op.kind,
    name: op.name,
    ...(op.role !== undefined ? { role: op.role } : {}),
    before: op.before,
    after: op.after,
    forward: op.forwardSql(database),
    inverse: op.inverseSql(database),
  };
}
