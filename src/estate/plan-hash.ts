import { createHash } from 'node:crypto';
import type { DatabaseState } from '../pg/catalog.js';
import { planSql, type Plan } from '../plan/plan.js';
import type { Policy } from '../policy/schema.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * The policy's content: what it asks of a database, not where the file lives nor which
 * databases it names (`environments:` and `poolers:` are targeting, and may hold a password that
 * is masked where the policy is stored), so staging and production runs of one file hash the same.
 */
export function policyHash(policy: Policy): string {
  const { source: _source, environments: _environments, poolers: _poolers, ...content } = policy;
  return sha256(stableJson(content));
}

/**
 * What an approval is bound to: the policy, the values the plan was computed from (the
 * database's own entries, every role's entry in this database and the connection limit), and
 * the forward SQL. Any change to one of them is a different plan and needs a new approval.
 */
export function planHash(policy: Policy, state: DatabaseState, plan: Plan): string {
  const captured = {
    database: state.database.name,
    connLimit: state.database.connLimit,
    dbSettings: [...state.dbSettings].sort((a, b) => a.name.localeCompare(b.name)),
    roleSettings: state.roleSettings.filter((r) => r.scope === 'in-database'),
  };
  return sha256(stableJson({ policy: policyHash(policy), captured, forward: planSql(plan).forward }));
}

/** JSON with object keys sorted, so equal content hashes equal whatever order the YAML had. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    // Keys whose value is undefined are absent in JSON (and in the policy stored in pgharden.runs): skip them here too.
    return `{${Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
