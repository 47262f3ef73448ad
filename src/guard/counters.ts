import type { Client } from '../pg/client.js';
import type { TimeTotals } from './latency-stats.js';

/** One reading of the cumulative counters the rollback triggers are computed from. */
export interface Counters {
  at: number;
  xactCommit: number;
  xactRollback: number;
  /** PostgreSQL 14+ (null before): sessions established, and ended by FATAL / pg_terminate_backend / a lost client. */
  sessions: number | null;
  sessionsFatal: number | null;
  sessionsKilled: number | null;
  sessionsAbandoned: number | null;
  connections: number;
  /** The limit non-superusers hit: datconnlimit, or max_connections − reserved when the database has none. */
  connectionLimit: number;
  /** pg_stat_statements calls, Σ time and Σ time² of the watched statements, when present. */
  statements: TimeTotals | null;
}

/** One query per reading: pg_stat_database, the session count and the limit, on the server's clock. */
export async function readCounters(client: Client, database: string, watchedQueryIds: string[] = []): Promise<Counters> {
  const { rows } = await client.query(
    `SELECT d.xact_commit::float8 AS commit, d.xact_rollback::float8 AS rollback,
            (to_jsonb(d) ->> 'sessions')::float8 AS sessions,
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
    at: r.at,
    xactCommit: r.commit,
    xactRollback: r.rollback,
    sessions: r.sessions,
    sessionsFatal: r.fatal,
    sessionsKilled: r.killed,
    sessionsAbandoned: r.abandoned,
    connections: r.connections,
    connectionLimit: r.conn_limit,
    statements: watchedQueryIds.length ? await readStatementTotals(client, watchedQueryIds) : null,
  };
}

async function readStatementTotals(client: Client, queryIds: string[]): Promise<TimeTotals | null> {
  try {
    // pg_stat_statements keeps the population stddev: Σt² = calls × (stddev² + mean²).
    const { rows } = await client.query(
      `SELECT coalesce(sum(calls), 0)::float8 AS calls, coalesce(sum(total_exec_time), 0)::float8 AS total,
              coalesce(sum(calls * (stddev_exec_time ^ 2 + mean_exec_time ^ 2)), 0)::float8 AS sumsq
         FROM pg_stat_statements WHERE queryid::text = ANY($1::text[])`,
      [queryIds],
    );
    return { calls: rows[0].calls, totalMs: rows[0].total, sumSquaresMs: rows[0].sumsq };
  } catch {
    return null;
  }
}

/** What happened in the window, counter by counter, kept apart (each means something else). */
export interface CounterDeltas {
  commits: number;
  rollbacks: number;
  /** Null before PostgreSQL 14. */
  sessions: number | null;
  fatal: number | null;
  killed: number | null;
  abandoned: number | null;
  statements: TimeTotals | null;
  /** The counters went backwards (statistics reset, crash restart): counted again from zero. */
  resets: number;
}

/**
 * Sums the increments between consecutive readings. A counter that goes down was reset
 * (pg_stat_reset, an immediate restart): its new value is what happened since, so the window
 * survives a restart without a negative or a bogus delta.
 */
export class CounterWindow {
  private prev: Counters;
  readonly deltas: CounterDeltas;

  constructor(readonly first: Counters) {
    this.prev = first;
    const nullable = (v: number | null) => (v === null ? null : 0);
    this.deltas = {
      commits: 0,
      rollbacks: 0,
      sessions: nullable(first.sessions),
      fatal: nullable(first.sessionsFatal),
      killed: nullable(first.sessionsKilled),
      abandoned: nullable(first.sessionsAbandoned),
      statements: first.statements ? { calls: 0, totalMs: 0, sumSquaresMs: 0 } : null,
      resets: 0,
    };
  }

  get last(): Counters {
    return this.prev;
  }

  add(next: Counters): void {
    let reset = false;
    const step = (a: number, b: number) => (b >= a ? b - a : ((reset = true), b));
    const d = this.deltas;
    const p = this.prev;
    d.commits += step(p.xactCommit, next.xactCommit);
    d.rollbacks += step(p.xactRollback, next.xactRollback);
    if (d.sessions !== null && p.sessions !== null && next.sessions !== null) d.sessions += step(p.sessions, next.sessions);
    if (d.fatal !== null && p.sessionsFatal !== null && next.sessionsFatal !== null) d.fatal += step(p.sessionsFatal, next.sessionsFatal);
    if (d.killed !== null && p.sessionsKilled !== null && next.sessionsKilled !== null)
      d.killed += step(p.sessionsKilled, next.sessionsKilled);
    if (d.abandoned !== null && p.sessionsAbandoned !== null && next.sessionsAbandoned !== null)
      d.abandoned += step(p.sessionsAbandoned, next.sessionsAbandoned);
    if (d.statements && p.statements && next.statements) {
      // Σ time² is derived from stddev (float rounding): never let it go below the window's own sum.
      const calls = step(p.statements.calls, next.statements.calls);
      const fromZero = next.statements.calls < p.statements.calls;
      d.statements.calls += calls;
      d.statements.totalMs += fromZero ? next.statements.totalMs : Math.max(0, next.statements.totalMs - p.statements.totalMs);
      d.statements.sumSquaresMs += fromZero
        ? next.statements.sumSquaresMs
        : Math.max(0, next.statements.sumSquaresMs - p.statements.sumSquaresMs);
    }
    if (reset) d.resets++;
    this.prev = next;
  }
}

/**
 * Share of transactions that were rolled back by a statement-level ERROR (57014 among them).
 * Every session that ends in FATAL also counts one rollback — a login refused by the connection
 * limit (53300) aborts its startup transaction, an idle-in-transaction termination (25P03) its
 * open one — so those are taken out here and reported on their own: they are not statement
 * failures, and counting them twice made refused logins look like timeouts.
 */
export function statementFailureRate(d: { commits: number; rollbacks: number; fatal: number | null }): number | null {
  const rolledBack = Math.max(0, d.rollbacks - (d.fatal ?? 0));
  const total = d.commits + rolledBack;
  return total > 0 ? rolledBack / total : null;
}
