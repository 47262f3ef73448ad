import { BlockedError } from '../errors.js';
import type { Client } from '../pg/client.js';
import type { DatabaseState } from '../pg/catalog.js';
import { planSql, type Plan } from '../plan/plan.js';
import type { Policy } from '../policy/schema.js';
import { ADVISORY_LOCKS } from '../pg/advisory-locks.js';
import { ensureStateTable } from '../state/store.js';
import { planHash, policyHash } from './plan-hash.js';

/** Approvals live in the target's own pgharden schema, next to the runs they allow. */
const DDL = `
CREATE TABLE IF NOT EXISTS pgharden.approvals (
  id          bigserial PRIMARY KEY,
  database    text NOT NULL,
  plan_hash   text NOT NULL,
  policy_hash text NOT NULL,
  forward_sql jsonb NOT NULL,
  approved_by text NOT NULL DEFAULT current_user,
  name        text,
  approved_at timestamptz NOT NULL DEFAULT now()
)`;

export interface Approval {
  id: string;
  database: string;
  planHash: string;
  policyHash: string;
  /** The database login that approved (current_user), the four-eyes identity. */
  approvedBy: string;
  /** The person's name, as given with --name. */
  name: string | null;
  approvedAt: string;
  forwardSql: string[];
}

async function ensureApprovals(client: Client): Promise<void> {
  await ensureStateTable(client, 'approvals', DDL, ADVISORY_LOCKS.approvalsTable);
}

export async function recordApproval(client: Client, policy: Policy, state: DatabaseState, plan: Plan, name?: string): Promise<Approval> {
  await ensureApprovals(client);
  const { rows } = await client.query(
    `INSERT INTO pgharden.approvals (database, plan_hash, policy_hash, forward_sql, name) VALUES ($1, $2, $3, $4, $5)
     RETURNING id::text, database, plan_hash AS "planHash", policy_hash AS "policyHash", approved_by AS "approvedBy", name,
               approved_at AS "approvedAt", forward_sql AS "forwardSql"`,
    [state.database.name, planHash(policy, state, plan), policyHash(policy), JSON.stringify(planSql(plan).forward), name ?? null],
  );
  return rows[0];
}

async function approvalsFor(client: Client, database: string): Promise<Approval[]> {
  const exists = await client.query(`SELECT to_regclass('pgharden.approvals') IS NOT NULL AS ok`);
  if (!exists.rows[0].ok) return [];
  const { rows } = await client.query(
    `SELECT id::text, database, plan_hash AS "planHash", policy_hash AS "policyHash", approved_by AS "approvedBy", name,
            approved_at AS "approvedAt", forward_sql AS "forwardSql"
       FROM pgharden.approvals WHERE database = $1 ORDER BY id DESC`,
    [database],
  );
  return rows;
}

const who = (a: Approval) => `${a.approvedBy}${a.name ? ` (${a.name})` : ''}`;

/**
 * Four eyes on the exact plan: an approval of this plan hash by a database login other than
 * the one applying. Otherwise BlockedError (exit 4) saying why the approvals on record do not
 * count: none at all, only the applier's own, or approvals of a different plan (the database or
 * the policy changed since).
 */
export async function requireApproval(client: Client, policy: Policy, state: DatabaseState, plan: Plan): Promise<Approval> {
  const hash = planHash(policy, state, plan);
  const all = await approvalsFor(client, state.database.name);
  const me = state.me.user;
  const match = all.find((a) => a.planHash === hash && a.approvedBy !== me);
  if (match) return match;
  const approve = `pgharden approve (as a database login other than ${me})`;
  const same = all.filter((a) => a.planHash === hash);
  let why: string;
  if (same.length) {
    why = `this plan was approved only by ${same.map(who).join(', ')}, the login applying it: approval needs a different database login (four eyes)`;
  } else if (all.length) {
    const last = all[0];
    const cause =
      last.policyHash !== policyHash(policy)
        ? 'the policy changed since'
        : JSON.stringify(last.forwardSql) !== JSON.stringify(planSql(plan).forward)
          ? "the database changed since, so the plan's SQL differs"
          : 'the database changed since (values the plan was computed from differ), so its rollback would differ';
    why = `the latest approval (#${last.id} by ${who(last)} at ${new Date(last.approvedAt).toISOString()}) was for plan ${last.planHash.slice(0, 12)}, not this plan ${hash.slice(0, 12)}: ${cause}`;
  } else {
    why = 'no approval is on record for this database';
  }
  throw new BlockedError(
    `approval required for ${state.database.name}, nothing was changed: ${why}. Approve this exact plan with: ${approve}`,
  ).withDetails({
    planHash: hash,
    approvals: all.map((a) => ({ id: a.id, approvedBy: a.approvedBy, name: a.name, planHash: a.planHash })),
  });
}

/** How a run records its approval (pgharden.runs.approved_by and the report). */
export const approvalText = (a: Approval) =>
  `${who(a)}, approval #${a.id} of plan ${a.planHash.slice(0, 12)} at ${new Date(a.approvedAt).toISOString()}`;

/** The run row says who approved it (pgharden.runs.approved_by), as `apply --approved-by` does. */
export async function recordRunApproval(client: Client, runId: string, text: string): Promise<void> {
  await client.query(`UPDATE pgharden.runs SET approved_by = $2 WHERE id = $1`, [runId, text]);
}
