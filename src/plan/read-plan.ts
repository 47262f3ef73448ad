import { policyParameters } from '../policy/parameters.js';
import type { Client } from '../pg/client.js';
import { readDatabaseState, type DatabaseState } from '../pg/catalog.js';
import type { StageContext } from '../stage.js';
import { addFindings, buildPlan, type Plan } from './plan.js';
import { serverValueFindings } from './server-check.js';

export const MIN_SERVER_VERSION = 130000;

/** Read the state and plan only: what `plan` shows, and what every changing command starts from. */
export async function readPlan(ctx: StageContext, client: Client): Promise<{ state: DatabaseState; plan: Plan }> {
  const state = await readDatabaseState(client, ctx.target.database, policyParameters(ctx.policy));
  const plan = buildPlan(state, ctx.policy);
  addFindings(plan, await serverValueFindings(client, state, plan));
  if (state.server.versionNum < MIN_SERVER_VERSION) {
    plan.findings.unshift({
      severity: 'blocking',
      code: 'server-version',
      message: `PostgreSQL ${state.server.version} is older than 13, which pgharden does not support (it is past end of life).`,
    });
    plan.blocked = true;
  }
  return { state, plan };
}
