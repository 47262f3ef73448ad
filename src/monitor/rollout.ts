import type { Client } from '../pg/client.js';
import { IN_FORCE, UNFINISHED } from '../run/state.js';

/**
 * When the latest applied run changed the database's settings, or null (never applied,
 * rolled back, no pgharden schema, or this role may not read it). Read outside the
 * per-poll query because the state table may not exist, and it changes only when someone
 * applies. Monitoring never requires the journal: a role without USAGE on the schema
 * (to_regclass itself raises 42501 then) monitors without rollout tracking, and `onNote`
 * says why.
 */
export async function latestApplyTime(client: Client, database: string, onNote?: (note: string) => void): Promise<string | null> {
  try {
    const { rows } = await client.query(`SELECT to_regclass('pgharden.runs') IS NOT NULL AS present`);
    if (!rows[0].present) return null;
    const latest = await client.query(
      `SELECT max(applied_at) AS at FROM pgharden.runs WHERE database = $1 AND status = ANY($2::text[]) AND applied_at IS NOT NULL`,
      [database, [...IN_FORCE, ...UNFINISHED]],
    );
    return latest.rows[0].at ? new Date(latest.rows[0].at).toISOString() : null;
  } catch (err) {
    if ((err as { code?: string }).code !== '42501') throw err;
    onNote?.(
      `rollout tracking skipped: this role may not read the pgharden schema (${(err as Error).message}); ` +
        'pgharden grants it to pg_monitor when it creates the schema, or: GRANT USAGE ON SCHEMA pgharden TO <role>; GRANT SELECT ON ALL TABLES IN SCHEMA pgharden TO <role>',
    );
    return null;
  }
}

export interface Recycled {
  pid: number;
  usename: string | null;
  backendStart: string;
}

/**
 * End at most `max` sessions that started before the apply and are idle right now, oldest
 * first: never active or idle-in-transaction ones, never our own, never another pgharden.
 * pg_terminate_backend is evaluated in the same statement that saw the session idle, so
 * the window in which it could have started work is as small as PostgreSQL allows.
 * A pool notices the closed connection and opens a new one, on the new settings.
 */
export async function recycleIdleSessions(
  client: Client,
  database: string,
  appliedAt: string,
  opts: { max: number; minIdleMs: number },
): Promise<Recycled[]> {
  const { rows } = await client.query(
    `SELECT pid, usename, backend_start
       FROM pg_stat_activity
      WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()
        AND state = 'idle' AND backend_start < $2
        AND state_change < now() - make_interval(secs => $3::float8 / 1000)
        AND application_name NOT LIKE 'pgharden%'
      ORDER BY backend_start
      LIMIT $4`,
    [database, appliedAt, opts.minIdleMs, opts.max],
  );
  const ended: Recycled[] = [];
  for (const r of rows) {
    // Re-check the state at the moment of the signal: it may have started a query since.
    const { rows: done } = await client.query(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE pid = $1 AND state = 'idle'`,
      [r.pid],
    );
    if (done[0]?.ok) ended.push({ pid: r.pid, usename: r.usename, backendStart: new Date(r.backend_start).toISOString() });
  }
  return ended;
}
