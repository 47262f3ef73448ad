import { poolersOf } from '../estate/targets.js';
import { reconnectPoolers, recycleText, type PoolerRecycle } from '../estate/poolers.js';
import type { Client } from '../pg/client.js';
import type { StageContext } from '../stage.js';
import { recordStep } from '../state/store.js';

/**
 * ALTER DATABASE … SET reaches new server connections only, and PgBouncer keeps its server
 * connections for up to server_lifetime: after apply and after rollback, RECONNECT each pooler so
 * the application's traffic runs on the values now in force. Journaled as step `poolers`; a
 * PgBouncer that failed is a warning (the change itself stands) and `failed` in the journal.
 */
export async function recyclePoolers(ctx: StageContext, client: Client, runId: string): Promise<PoolerRecycle[] | null> {
  const urls = poolersOf(ctx);
  if (!urls.length) return null;
  const results = await reconnectPoolers(urls, ctx.target.database);
  for (const r of results) (r.error ? ctx.log.warn : ctx.log.info)(recycleText(r));
  await recordStep(client, runId, 'poolers', results.some((r) => r.error) ? 'failed' : 'done', { poolers: results });
  return results;
}
