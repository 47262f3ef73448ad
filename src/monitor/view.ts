import type { Log } from '../log.js';
import { inTransaction, type Client } from '../pg/client.js';
import { quoteLiteral } from '../pg/quote.js';
import { recordStep } from '../state/store.js';

/**
 * `pgharden.security_monitoring`: the runbook's `SELECT * FROM security_monitoring WHERE
 * query_duration_seconds > 25`, as a view over pg_stat_activity for the current database.
 *
 * Privileges: the view reads pg_stat_activity with the privileges of whoever queries it,
 * so the `query` text of other roles' sessions shows only to members of pg_read_all_stats
 * (pg_monitor includes it) and superusers; others see `<insufficient privilege>`. SELECT is
 * granted to pg_monitor; its members also need `GRANT USAGE ON SCHEMA pgharden`.
 *
 * The COMMENT records which run created it: rollback of that run drops it; a view someone
 * else created under that name is never replaced or dropped.
 */
const VIEW = 'pgharden.security_monitoring';
const MARK = 'pgharden: created by apply run ';

const DEFINITION = `
CREATE VIEW ${VIEW} AS
SELECT pid, datname, usename, application_name, client_addr, backend_start, xact_start, query_start,
       state_change, state, wait_event_type, wait_event,
       CASE WHEN state = 'active' THEN round(extract(epoch FROM now() - query_start), 1) END AS query_duration_seconds,
       round(extract(epoch FROM now() - state_change), 1) AS state_duration_seconds,
       round(extract(epoch FROM now() - xact_start), 1) AS transaction_duration_seconds,
       query
  FROM pg_catalog.pg_stat_activity
 WHERE datname = current_database() AND backend_type = 'client backend'`;

async function viewComment(client: Client): Promise<string | null | undefined> {
  const { rows } = await client.query(
    `SELECT obj_description(to_regclass($1), 'pg_class') AS comment, to_regclass($1) IS NOT NULL AS present`,
    [VIEW],
  );
  return rows[0].present ? (rows[0].comment ?? null) : undefined;
}

/**
 * After apply: create the view if it is missing. Never fails the apply (the settings are
 * in place by then); a problem is logged and journaled.
 */
export async function ensureMonitoringView(client: Client, runId: string, log: Log): Promise<void> {
  try {
    if ((await viewComment(client)) !== undefined) return;
    await inTransaction(client, async () => {
      await client.query(DEFINITION);
      await client.query(`COMMENT ON VIEW ${VIEW} IS ${quoteLiteral(MARK + runId)}`);
      await client.query(`GRANT SELECT ON ${VIEW} TO pg_monitor`);
    });
    await recordStep(client, runId, 'create security_monitoring view', 'done');
  } catch (err) {
    log.warn(`could not create ${VIEW}: ${(err as Error).message} (the settings were applied)`);
    await recordStep(client, runId, 'create security_monitoring view', 'failed', { error: (err as Error).message }).catch(() => undefined);
  }
}

/** After rollback of `runId`: drop the view only if that run created it. */
export async function dropMonitoringViewIfOurs(client: Client, runId: string, log: Log): Promise<void> {
  try {
    if ((await viewComment(client)) !== MARK + runId) return;
    await client.query(`DROP VIEW ${VIEW}`);
    await recordStep(client, runId, 'drop security_monitoring view', 'done');
  } catch (err) {
    log.warn(`could not drop ${VIEW}: ${(err as Error).message} (the settings were restored)`);
  }
}
