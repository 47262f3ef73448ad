import { PolicyError } from '../errors.js';
import type { DatabaseState } from '../pg/catalog.js';
import { parseValue } from '../pg/units.js';
import type { Policy } from '../policy/schema.js';
import { effectiveFor } from './effective.js';
import { toolSafetyFindings } from './tool-safety.js';
import { planRoles } from './role-plan.js';
import { declaredRoles, declaredValue, roleValueProblems } from './role-values.js';
import {
  connectionLimitFindings,
  describeValue,
  notOwnerFinding,
  notSettableFinding,
  roleOverrideFindings,
  hiddenParameterFinding,
  noEffectFinding,
  superuserFinding,
  unknownParameterFinding,
  workloadFindings,
  type Finding,
} from './findings.js';
import {
  ConnectionLimitOperation,
  ResetOperation,
  SetOperation,
  storedValue,
  toRecord,
  type Operation,
  type OperationRecord,
} from './operations.js';

export interface PlanRow {
  setting: string;
  /** Rows of the policy's roles: the role whose own value in this database the row is about. */
  role?: string;
  /** ALTER DATABASE value now (null: none). */
  databaseValue: string | null;
  /** What a new session of the connecting role gets now, and from where. */
  effective: string;
  effectiveFrom: string;
  target: string | null;
  action: 'set' | 'reset' | 'none' | 'blocked';
}

export interface Plan {
  database: string;
  rows: PlanRow[];
  operations: Operation[];
  findings: Finding[];
  blocked: boolean;
}

/** Contexts in which a database-level value is allowed. */
const DATABASE_SETTABLE = new Set(['user', 'superuser']);

/**
 * Current state + policy → operations and findings. Pure: reads nothing, changes nothing.
 * Throws PolicyError for values that cannot be valid for their parameter (type, unit, range).
 */
export function buildPlan(state: DatabaseState, policy: Policy): Plan {
  const database = state.database.name;
  const rows: PlanRow[] = [];
  const operations: Operation[] = [];
  const findings: Finding[] = [];
  const valueProblems: string[] = [];
  const targets: Record<string, string> = {};

  if (!state.me.superuser && !state.me.ownsDatabase) findings.push(notOwnerFinding(state));

  for (const [name, raw] of Object.entries(policy.settings)) {
    const meta = state.settings.get(name);
    const current = state.dbSettings.find((s) => s.name === name)?.value ?? null;
    const effective = effectiveFor(state, state.me.user, name);
    const row: PlanRow = {
      setting: name,
      databaseValue: describeValue(state, name, current),
      effective: describeValue(state, name, effective.value),
      effectiveFrom: effective.from,
      target: raw === null ? null : String(raw),
      action: 'blocked',
    };
    rows.push(row);

    if (!meta && !name.includes('.')) {
      findings.push(hiddenParameterFinding(name) ?? unknownParameterFinding(name, state.settings.keys()));
      continue;
    }
    if (meta && !DATABASE_SETTABLE.has(meta.context)) {
      findings.push(notSettableFinding(name, meta.context));
      continue;
    }
    if (meta?.context === 'superuser' && !state.me.canSet[name]) findings.push(superuserFinding(name, state));
    const noEffect = noEffectFinding(name);
    if (noEffect) findings.push(noEffect);

    if (raw === null) {
      row.action = current === null ? 'none' : 'reset';
      if (current !== null) operations.push(new ResetOperation(name, current));
      continue;
    }
    // Custom (extension) parameters such as `myapp.flag` are unknown to pg_settings and stored as text.
    const parse = (v: string | number | boolean) => (meta ? parseValue(meta, v) : ({ ok: true, canonical: String(v) } as const));
    const wanted = parse(raw);
    if (!wanted.ok) {
      valueProblems.push(`settings.${name}: ${wanted.error}`);
      continue;
    }
    targets[name] = String(raw);
    const have = current === null ? null : parse(current);
    const same = have?.ok === true && have.canonical === wanted.canonical;
    row.action = same ? 'none' : 'set';
    if (!same) operations.push(new SetOperation(name, current, storedValue(name, raw)));
    // A declared role value is intended: only undeclared overrides are worth a finding.
    findings.push(...roleOverrideFindings(state, name).filter((f) => !f.roles?.every((r) => declaredValue(policy, r, name) !== undefined)));
  }

  const declared = declaredRoles(state, policy);
  valueProblems.push(...roleValueProblems(declared, policy));
  const roles = planRoles(state, policy, declared);
  valueProblems.push(...roles.problems);

  if (valueProblems.length) {
    throw new PolicyError(`policy ${policy.source} has values this server cannot accept:\n  ${valueProblems.join('\n  ')}`, valueProblems);
  }

  if (policy.connection_limit !== undefined) {
    const limit = policy.connection_limit;
    const before = state.database.connLimit;
    const blocking = connectionLimitFindings(state, limit);
    findings.push(...blocking);
    rows.push({
      setting: 'connection_limit',
      databaseValue: String(before),
      effective: before === -1 ? 'unlimited' : String(before),
      effectiveFrom: 'database',
      target: String(limit),
      action: blocking.some((f) => f.severity === 'blocking') ? 'blocked' : before === limit ? 'none' : 'set',
    });
    if (before !== limit) operations.push(new ConnectionLimitOperation(before, limit));
  }

  // Role values go after the database-level ones: rollback undoes newest first, so roles are restored before the database.
  rows.push(...roles.rows);
  operations.push(...roles.operations);
  findings.push(...roles.findings);
  findings.push(...workloadFindings(state, targets));
  findings.push(...toolSafetyFindings(state, targets));
  const blocked = findings.some((f) => f.severity === 'blocking');
  return { database, rows, operations, findings, blocked };
}

/** Add findings found outside the pure plan (e.g. by asking the server); a blocking one blocks the plan. */
export function addFindings(plan: Plan, findings: Finding[]): Plan {
  plan.findings.push(...findings);
  plan.blocked = plan.findings.some((f) => f.severity === 'blocking');
  for (const f of findings) {
    const row = f.severity === 'blocking' ? plan.rows.find((r) => r.setting === f.setting) : undefined;
    if (row) row.action = 'blocked';
  }
  return plan;
}

/** Forward and rollback scripts of a plan (rollback in reverse order). */
export function planSql(plan: Plan): { forward: string[]; rollback: string[]; records: OperationRecord[] } {
  const records = plan.operations.map((op) => toRecord(op, plan.database));
  return { forward: records.map((r) => r.forward), rollback: records.map((r) => r.inverse).reverse(), records };
}

/** The plan as plain data, for --json, the run directory and the journal. */
export function planData(plan: Plan) {
  const { forward, rollback, records } = planSql(plan);
  return {
    database: plan.database,
    blocked: plan.blocked,
    rows: plan.rows,
    operations: records,
    forwardSql: forward,
    rollbackSql: rollback,
    findings: plan.findings,
  };
}
