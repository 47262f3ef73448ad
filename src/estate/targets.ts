import type { Policy } from '../policy/schema.js';
import type { StageContext } from '../stage.js';

/** The PgBouncer admin consoles in front of the target: the environment's, else the policy's. */
export const poolersOf = (ctx: Pick<StageContext, 'policy' | 'environment'>): string[] =>
  ctx.environment?.poolers ?? ctx.policy.poolers ?? [];

/** The low-traffic gate for the target: the environment's, else the policy's. */
export const maxLoadOf = (ctx: Pick<StageContext, 'policy' | 'environment'>): Policy['max_load'] =>
  ctx.environment?.maxLoad ?? ctx.policy.max_load;
