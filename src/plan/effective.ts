import type { DatabaseState } from '../pg/catalog.js';

/** Where a new session's value of a parameter comes from, highest precedence first (as PostgreSQL applies them at login). */
export type ValueSource = 'role in database' | 'role' | 'database' | 'all roles' | 'server';

export interface EffectiveValue {
  value: string;
  from: ValueSource;
}

/**
 * The value a new session of `role` gets for `name`, from pg_db_role_setting precedence:
 * ALTER ROLE r IN DATABASE d SET > ALTER ROLE r SET > ALTER DATABASE d SET > ALTER ROLE ALL SET > server.
 * No password needed: this reads the catalog, not a login.
 */
export function effectiveFor(state: DatabaseState, role: string, name: string): EffectiveValue {
  const forRole = (scope: 'in-database' | 'all-databases') =>
    state.roleSettings.find((r) => r.role === role && r.scope === scope && r.name === name)?.value;
  const inDb = forRole('in-database');
  if (inDb !== undefined) return { value: inDb, from: 'role in database' };
  const roleWide = forRole('all-databases');
  if (roleWide !== undefined) return { value: roleWide, from: 'role' };
  const db = state.dbSettings.find((s) => s.name === name)?.value;
  if (db !== undefined) return { value: db, from: 'database' };
  const all = state.globalSettings.find((s) => s.name === name)?.value;
  if (all !== undefined) return { value: all, from: 'all roles' };
  // hasOwn: a policy may name `constructor` or `__proto__`, which a plain object would answer from its prototype.
  return { value: Object.hasOwn(state.serverValues, name) ? state.serverValues[name] : '', from: 'server' };
}

/** The SQL that removes a role-level value, for messages that tell the DBA what to run. */
export function roleOverrideFix(
  role: string,
  scope: 'in-database' | 'all-databases',
  name: string,
  database: string,
  q: (s: string) => string,
): string {
  return scope === 'in-database'
    ? `ALTER ROLE ${q(role)} IN DATABASE ${q(database)} RESET ${name};`
    : `ALTER ROLE ${q(role)} RESET ${name};`;
}
