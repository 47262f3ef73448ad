import { BlockedError } from '../errors.js';
import type { Client } from '../pg/client.js';
import { formatDuration } from '../policy/duration.js';
import type { StageContext } from '../stage.js';
import { maxLoadOf } from './targets.js';
import { flushStatistics } from '../guard/guard.js';

/** What the gate measured over its sample. */
export interface LoadMeasure {
  /** Committed + rolled-back transactions per second of the database (pg_stat_database), ours left out. */
  tps: number;
  /** The most client sessions seen running a statement at once (state = 'active'), ours left out. */
  activeConnections: number;
  /** The limit a share is taken of: datconnlimit, or max_connections minus the reserved slots. */
  connectionLimit: number;
  sampleMs: number;
}

/** The runbook's "low traffic period", decided before anything changes. */
export interface LoadDecision {
  measured: LoadMeasure;
  /** The limits that applied, as numbers (a share already turned into connections). */
  limits: { activeConnections?: number; tps?: number };
  /** Each limit exceeded, in words. */
  over: string[];
  ok: boolean;
  /** --over-load "reason": went ahead although over the limit. */
  override?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Transactions per second from two reads of pg_stat_database `sampleMs` apart, and the peak of
 * active sessions polled every 200 ms in between. Our own polls are transactions too: they are
 * subtracted, and our session's earlier statements are flushed to the statistics first. The counters reach pg_stat_database when a backend flushes its statistics: about
 * once a second for sessions that write; a session running read-only statements back to back
 * without a pause may publish only every minute (PostgreSQL's PGSTAT_MAX_INTERVAL), so for
 * read-mostly traffic a longer `sample:` or the active-connections limit is the better gate.
 */
export async function measureLoad(client: Client, database: string, sampleMs: number): Promise<LoadMeasure> {
  let own = 0;
  const counters = async () => {
    own++;
    await client.query('SELECT pg_stat_clear_snapshot()');
    own++;
    const { rows } = await client.query(
      `SELECT coalesce(xact_commit + xact_rollback, 0)::float8 AS xacts, extract(epoch FROM clock_timestamp()) * 1000 AS at
         FROM pg_stat_database WHERE datname = $1`,
      [database],
    );
    return { xacts: Number(rows[0]?.xacts ?? 0), at: Number(rows[0]?.at ?? Date.now()) };
  };
  // The preflight's own traffic (200 latency probes) must not land in the sample as load.
  await flushStatistics(client);
  const start = await counters();
  const { rows: lim } = await client.query(
    `SELECT CASE WHEN datconnlimit >= 0 THEN datconnlimit
                 ELSE current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
                      - coalesce(current_setting('reserved_connections', true)::int, 0) END AS lim
       FROM pg_database WHERE datname = $1`,
    [database],
  );
  own++;
  let peak = 0;
  const until = performance.now() + sampleMs;
  do {
    own++;
    // pgharden's own sessions (this poll, the run's event journal, a monitor) are not the application's traffic.
    const { rows } = await client.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = $1 AND state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid()
          AND application_name NOT LIKE 'pgharden%'`,
      [database],
    );
    peak = Math.max(peak, rows[0].n);
    await sleep(Math.min(200, Math.max(0, until - performance.now())));
  } while (performance.now() < until);
  const end = await counters();
  const seconds = Math.max(0.001, (end.at - start.at) / 1000);
  const tps = Math.max(0, end.xacts - start.xacts - own) / seconds;
  return { tps: Math.round(tps * 10) / 10, activeConnections: peak, connectionLimit: Number(lim[0]?.lim ?? 0), sampleMs };
}

export const loadText = (d: LoadDecision) => {
  const m = d.measured;
  const parts = [
    `${m.activeConnections} active connection(s)${d.limits.activeConnections !== undefined ? ` (max_load ${d.limits.activeConnections})` : ''}`,
    `${m.tps} transactions/s${d.limits.tps !== undefined ? ` (max_load ${d.limits.tps})` : ''}`,
  ];
  return `${parts.join(', ')} over ${formatDuration(m.sampleMs)}`;
};

/**
 * `run`'s low-traffic gate (policy or environment max_load:). Over a limit: BlockedError (exit 4)
 * naming the measured values, unless `overrideReason` (--over-load "reason"), which is recorded.
 * No max_load: null, and nothing is measured.
 */
export async function checkLoad(ctx: StageContext, client: Client, overrideReason?: string): Promise<LoadDecision | null> {
  const max = maxLoadOf(ctx);
  if (!max) return null;
  const measured = await measureLoad(client, ctx.target.database, max.sample);
  const limits: LoadDecision['limits'] = {};
  if (max.active_connections) {
    limits.activeConnections =
      'count' in max.active_connections
        ? max.active_connections.count
        : Math.floor(max.active_connections.share * measured.connectionLimit);
  }
  if (max.tps !== undefined) limits.tps = max.tps;
  const over: string[] = [];
  if (limits.activeConnections !== undefined && measured.activeConnections > limits.activeConnections) {
    const share =
      max.active_connections && 'share' in max.active_connections
        ? ` (${Math.round((max.active_connections.share ?? 0) * 100)}% of the connection limit ${measured.connectionLimit})`
        : '';
    over.push(`${measured.activeConnections} active connections, over max_load active_connections ${limits.activeConnections}${share}`);
  }
  if (limits.tps !== undefined && measured.tps > limits.tps) over.push(`${measured.tps} transactions/s, over max_load tps ${limits.tps}`);
  const decision: LoadDecision = { measured, limits, over, ok: over.length === 0 };
  if (decision.ok) return decision;
  if (overrideReason) {
    ctx.log.warn(`over max_load (${over.join('; ')}); going ahead because: ${overrideReason}`);
    return { ...decision, override: overrideReason };
  }
  throw new BlockedError(
    `not a low-traffic period on ${ctx.target.database}: ${over.join('; ')} (measured over ${formatDuration(measured.sampleMs)}); nothing was changed. ` +
      'Wait for less traffic, or pass --over-load "reason" (the reason is recorded with the run).',
  ).withDetails({ load: decision });
}
