import { BlockedError } from '../errors.js';
import { withClient } from '../pg/client.js';
import { resolveTarget, withDatabase } from '../pg/target.js';
import type { Policy } from '../policy/schema.js';
import { policyHash } from './plan-hash.js';

/** The run in a required environment that lets this one go ahead. */
export interface PromotionProof {
  environment: string;
  database: string;
  runId: string;
  finishedAt: string | null;
  /** The run's state now: a passed run rolled back since still proves the policy passed there. */
  status: string;
}

/**
 * Staging before production: for each environment `requires:` names, a `run` of a policy with
 * the same content hash whose outcome was passed, read from that environment's own pgharden
 * schema (no extra service). Missing anywhere → BlockedError (exit 4), before anything changes.
 */
export async function checkPromotion(policy: Policy, requires: string[], envName: string): Promise<PromotionProof[]> {
  const hash = policyHash(policy);
  const proofs: PromotionProof[] = [];
  const missing: string[] = [];
  for (const name of requires) {
    const env = policy.environments[name];
    const base = resolveTarget(env.db);
    const target = policy.database ? withDatabase(base, policy.database) : base;
    let runs: { id: string; status: string; policy: Omit<Policy, 'source'>; finished_at: Date | null }[];
    try {
      runs = await withClient(
        target,
        async (c) => {
          const exists = await c.query(`SELECT to_regclass('pgharden.runs') IS NOT NULL AS ok`);
          if (!exists.rows[0].ok) return [];
          return (
            await c.query(
              `SELECT id, status, policy, finished_at FROM pgharden.runs
            WHERE command = 'run' AND database = $1 AND (status = 'passed' OR result->>'outcome' = 'passed')
            ORDER BY finished_at DESC NULLS LAST`,
              [target.database],
            )
          ).rows;
        },
        { appName: 'pgharden promotion' },
      );
    } catch (err) {
      missing.push(`${name}: cannot read its pgharden schema (${(err as Error).message})`);
      continue;
    }
    const match = runs.find((r) => policyHash({ ...r.policy, source: '' } as Policy) === hash);
    if (match) {
      proofs.push({
        environment: name,
        database: target.database,
        runId: match.id,
        finishedAt: match.finished_at?.toISOString() ?? null,
        status: match.status,
      });
    } else {
      missing.push(
        `${name}: no passed \`pgharden run\` of this policy (hash ${hash.slice(0, 12)}) on ${target.database}` +
          (runs.length ? ` (${runs.length} passed run(s) of other policy versions)` : ''),
      );
    }
  }
  if (missing.length) {
    throw new BlockedError(
      `${envName} requires ${requires.join(', ')} first; nothing was changed:\n  ${missing.join('\n  ')}\n` +
        `Run the same policy there first: pgharden run --env ${requires[0]} --policy ${policy.source}`,
    ).withDetails({ policyHash: hash, missing, satisfied: proofs });
  }
  return proofs;
}

export const proofText = (p: PromotionProof) =>
  `${p.environment}: run ${p.runId} passed${p.finishedAt ? ` (finished ${p.finishedAt})` : ''} on ${p.database}${p.status !== 'passed' ? `, ${p.status.replace('_', ' ')} since` : ''}`;
