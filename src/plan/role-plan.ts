import type { DatabaseState } from '../pg/catalog.js';
import { quoteIdent } from '../pg/quote.js';
import { parseValue } from '../pg/units.js';
import type { Policy } from '../policy/schema.js';
import { effectiveFor } from './effective.js';
import { describeValue, hiddenParameterFinding, notSettableFinding, unknownParameterFinding, type Finding } from './findings.js';
import { RoleResetOperation, RoleSetOperation, storedValue, type Operation } from './operations.js';
import type { PlanRow } from './plan.js';
import type { DeclaredRole } from './role-values.js';

/** Contexts in which a per-role value is allowed (the same as per database). */
const ROLE_SETTABLE = new Set(['user', 'superuser']);

export interface RolePlan {
  rows: PlanRow[];
  operations: Operation[];
  findings: Finding[];
  /** Values that cannot be valid for their parameter: a policy error, like the database-level ones. */
  problems: string[];
}

/**
 * The `roles:` part of the plan: one role_set/role_reset operation per declared value that
 * differs from the role's own entry in this database (ALTER ROLE r IN DATABASE d). The
 * role-wide entry (ALTER ROLE r SET, all databases) is never touched: it belongs to every
 * other database too.
 */
export function planRoles(state: DatabaseState, policy: Policy, declared: DeclaredRole[]): RolePlan {
  const out: RolePlan = { rows: [], operations: [], findings: [], problems: [] };
  const db = state.database.name;
  if (declared.length && !state.me.superuser && !state.me.createRole) {
    out.findings.push({
      severity: 'blocking',
      code: 'role-privilege',
      message: `${state.me.user} is neither a superuser nor has CREATEROLE: ALTER ROLE … IN DATABASE ${db} SET (the policy's roles:) needs one of them.`,
      fix: 'apply as a superuser, or as a role with CREATEROLE (PostgreSQL 16+: and ADMIN OPTION on each role named)',
    });
  }
  for (const d of declared) {
    const role = state.roles.find((r) => r.name === d.role);
    if (!role) {
      out.findings.push({
        severity: 'blocking',
        code: 'role-missing',
        roles: [d.role],
        message: `roles.${d.role}: there is no role ${d.role} on this server, so its values cannot be set.`,
        fix: `CREATE ROLE ${quoteIdent(d.role)} …; or remove it from roles:`,
      });
      continue;
    }
    if (!role.canLogin) {
      out.findings.push({
        severity: 'advisory',
        code: 'group-role',
        roles: [d.role],
        message: `role ${d.role} cannot log in: values set on it apply to sessions that log in as ${d.role} only; its members inherit none of them (nor does SET ROLE apply them).`,
        fix: 'declare the login roles that run the work instead',
      });
    }
    if (d.expiry === 'expired') {
      out.findings.push({
        severity: 'advisory',
        code: 'exception-expired',
        roles: [d.role],
        message: `roles.${d.role}: the exception expired on ${d.expires}; verify fails until it is renewed (expires:) or removed.`,
      });
    }
    for (const [name, raw] of Object.entries(d.settings)) out.rows.push(planOne(state, out, d.role, name, raw, db));
  }
  return out;
}

function planOne(
  state: DatabaseState,
  out: RolePlan,
  role: string,
  name: string,
  raw: string | number | boolean | null,
  db: string,
): PlanRow {
  const meta = state.settings.get(name);
  const current = state.roleSettings.find((r) => r.role === role && r.scope === 'in-database' && r.name === name)?.value ?? null;
  const effective = effectiveFor(state, role, name);
  const label = `${name} for role ${role}`;
  const row: PlanRow = {
    setting: label,
    role,
    databaseValue: describeValue(state, name, current),
    effective: describeValue(state, name, effective.value),
    effectiveFrom: effective.from,
    target: raw === null ? null : String(raw),
    action: 'blocked',
  };
  const block = (f: Finding | null) => {
    if (f) out.findings.push({ ...f, setting: label, roles: [role] });
    return row;
  };

  if (!meta && !name.includes('.')) return block(hiddenParameterFinding(name) ?? unknownParameterFinding(name));
  if (meta && !ROLE_SETTABLE.has(meta.context)) return block(notSettableFinding(name, meta.context));
  if (meta?.context === 'superuser' && !state.me.superuser) {
    // ALTER ROLE … SET of a superuser-context parameter needs a superuser (or, PG15+, SET on it, as for databases).
    if (!state.me.canSet[name])
      return block({
        severity: 'blocking',
        code: 'superuser-privilege',
        message: `${name} has context superuser: only a superuser (or a role granted SET on it) may set it for role ${role}.`,
        fix: `GRANT SET ON PARAMETER ${name} TO ${quoteIdent(state.me.user)};`,
      });
  }
  if (raw === null) {
    row.action = current === null ? 'none' : 'reset';
    if (current !== null) out.operations.push(new RoleResetOperation(role, name, current));
    return row;
  }
  const parse = (v: string | number | boolean) => (meta ? parseValue(meta, v) : ({ ok: true, canonical: String(v) } as const));
  const wanted = parse(raw);
  if (!wanted.ok) {
    out.problems.push(`roles.${role}.settings.${name}: ${wanted.error}`);
    return row;
  }
  const have = current === null ? null : parse(current);
  const same = have?.ok === true && have.canonical === wanted.canonical;
  row.action = same ? 'none' : 'set';
  if (!same) out.operations.push(new RoleSetOperation(role, name, current, storedValue(name, raw)));
  return row;
}
