import type { Client } from '../pg/client.js';

/** One reading of the cumulative counters the rollback triggers are computed from. */
export interface Counters {
  at: number;
  xactCommit: number;
  xactRollback: number;
  /** PostgreSQL 14+: sessions ended by a FATAL error (idle-in-transaction timeout among them); null before 14. */
  sessionsFatal: number | null;
  sessionsKilled: number | null;
  sessionsAbandoned: number | null;
  connections: number;
  /** The limit non-superusers hit: datconnlimit, or max_connections − reserved when the database has none. */
  connectionLimit: number;
  /** pg_stat_statements calls and total time for the watched statements, when present. */
  statements: { calls: number; totalMs: number } | null;
}

/** One query per reading: pg_stat_database, the session count and the limit, on the server's clock. */
export async function readCounters(client: Client, database: string, watchedQueryIds: string[] = []): Promise<Counters> {
  const { rows } = await client.query(
    `SELECT d.xact_commit::float8 AS commit, d.xact_rollback::float8 AS rollback,
            (to_jsonb(d) ->> 'sessions_fatal')::float8 AS fatal,
            (to_jsonb(d) ->> 'sessions_killed')::float8 AS killed,
            (to_jsonb(d) ->> 'sessions_abandoned')::float8 AS abandoned,
            (SELECT count(*) FROM pg_stat_activity a WHERE a.datname = $1 AND a.backend_type = 'client backend')::int AS connections,
            CASE WHEN db.datconnlimit >= 0 THEN db.datconnlimit
                 ELSE current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
                      - coalesce(current_setting('reserved_connections', true)::int, 0) END AS conn_limit,
            extract(epoch FROM clock_timestamp()) * 1000 AS at
       FROM pg_stat_database d JOIN pg_database db ON db.oid = d.datid
      WHERE d.datname = $1`,
    [database],
  );
  const r = rows[0];
  return {
    at: r.at, xactCommit: r.commit, xactRollback: r.rollback,
    sessionsFatal: r.fatal, sessionsKilled: r.killed, sessionsAbandoned: r.abandoned,
    connections: r.connections, connectionLimit: r.conn_limit,
    statements: watchedQueryIds.length ? await readStatementTotals(client, watchedQueryIds) : null,
  };
}

async function readStatementTotals(client: Client, queryIds: string[]): Promise<{ calls: number; totalMs: number } | null> {
  try {
    const { rows } = await client.query(
      `SELECT coalesce(sum(calls), 0)::float8 AS calls, coalesce(sum(total_exec_time), 0)::float8 AS total
         FROM pg_stat_statements WHERE queryid::text = ANY($1::text[])`,
      [queryIds],
    );
    return { calls: rows[0].calls, totalMs: rows[0].total };
  } catch {
    return null;
  }
}

/** Failed transactions (rollbacks, plus sessions ended by FATAL errors) over all transactions. */
export function failureRate(d: { commits: number; rollbacks: number; fatal: number }): number | null {
  const total = d.commits + d.rollbacks;
  return total > 0 ? (d.rollbacks + d.fatal) / total : null;
}
