import type { Client } from '../pg/client.js';

/**
 * Give each migration the same session: RESET ALL drops what an earlier migration SET
 * (search_path, timeouts…) as psql's one-session-per-file would, then our own timeouts are set
 * again. Session timeouts that would end an idle tool session (PG 14+/17+) stay off.
 */
export async function prepareMigrationSession(
  client: Client,
  timeouts: { lockTimeoutMs: number; statementTimeoutMs: number },
): Promise<void> {
  await client.query('RESET ALL');
  await client.query(
    `SELECT set_config(name, CASE name WHEN 'lock_timeout' THEN $1 WHEN 'statement_timeout' THEN $2 ELSE '0' END, false)
       FROM pg_settings WHERE name IN ('lock_timeout', 'statement_timeout', 'idle_session_timeout', 'transaction_timeout')`,
    [`${timeouts.lockTimeoutMs}ms`, `${timeouts.statementTimeoutMs}ms`],
  );
}
