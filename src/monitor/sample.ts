import type { Client } from '../pg/client.js';
import { redactSql } from '../redact-sql.js';
import type { ConfigState } from './config-state.js';
import type { PoolerRollout } from '../estate/poolers.js';

/**
 * One poll of a database, in ONE statement (no N+1): pg_stat_activity is read once
 * (a CTE referenced several times is materialised), durations are computed on the
 * server's clock, and only non-idle sessions come back row by row, so a database
 * with hundreds of idle pooled connections still costs one small result.
 *
 * Library use (the guard reuses it): `sampleOnce(client, database, { appliedAt })`.
 */

/** A non-idle session of the database (the monitor's own session is never included). */
export interface SessionSample {
  pid: number;
  /** The session's database (differs from Sample.database only in the instance scope). */
  datname: string;
  /** pg_blocking_pids() of a session waiting on a lock (heavyweight lock waits only); [] otherwise. */
  blockedBy: number[];
  backendStart: string;
  usename: string | null;
  applicationName: string;
  clientAddr: string | null;
  state: string;
  waitEvent: string | null;
  /** ms since query_start, when active; null otherwise. */
  queryMs: number | null;
  /** ms since state_change (how long it has been in `state`). */
  stateMs: number;
  /** ms since xact_start, when in a transaction. */
  xactMs: number | null;
  /** True when the session began before the latest apply: it still runs on the old settings. */
  onOldSettings: boolean;
  query: string;
}

export interface Rollout {
  /** When the latest applied run changed the settings. */
  appliedAt: string;
  /** Other sessions that started before it (they keep the old settings until they reconnect). */
  onOldSettings: number;
  /** …of which idle: the ones --recycle-idle may end. */
  idleOnOldSettings: number;
  /** All other client sessions on the database. */
  sessions: number;
  /** PgBouncer (policy poolers:) server connections opened before the apply: they run on the old settings too. */
  poolers?: PoolerRollout[];
}

/**
 * Sessions of the database grouped as postgres_exporter (v0.17+) groups pg_stat_activity for
 * pg_stat_activity_count / pg_stat_activity_max_tx_duration: every backend type, the poller's
 * own session left out.
 */
export interface ActivityGroup {
  datname: string;
  state: string;
  usename: string;
  applicationName: string;
  backendType: string;
  waitEventType: string;
  waitEvent: string;
  count: number;
  /** Longest open transaction in the group (s); 0 when none is open. */
  maxTxSeconds: number;
}

/** One database of the instance scope (--all-databases): what /metrics labels with its datname. */
export interface DatabaseSample {
  datname: string;
  datconnlimit: number;
  /** The limit that applies to it: datconnlimit, or max_connections minus reserved slots. */
  limit: number;
  /** Its client backends, the monitor's own included. */
  total: number;
  stats: Record<string, number>;
}

export interface Sample {
  /** The database the monitor connects to (the focus; the rollout and compliance are about it). */
  database: string;
  /** 'database': that database only (the default); 'instance': every database of the server, in the same one poll. */
  scope: SampleScope;
  /** With the instance scope: every database, for per-database gauges. */
  databases?: DatabaseSample[];
  /** Server clock at the poll. */
  at: string;
  /** Round-trip cost of the poll, measured by the client (ms). */
  pollMs: number;
  myPid: number;
  connections: {
    /** Client backends on the database (the instance scope: on the server), the monitor's own included: it holds a slot too. */
    total: number;
    /** Other client backends by state (the monitor's own session is not counted: it would always show as active). */
    byState: Record<string, number>;
    /** Longest open transaction per state (ms), as postgres_exporter's pg_stat_activity_max_tx_duration. */
    maxTxMsByState: Record<string, number>;
    /** pg_database.datconnlimit (-1 = no database limit). */
    datconnlimit: number;
    /** The limit that applies: datconnlimit, or max_connections minus the reserved slots when it is -1. */
    limit: number;
    limitSource: 'datconnlimit' | 'max_connections';
  };
  longestActiveMs: number;
  longestIdleInTransactionMs: number;
  /** Longest open transaction of a client backend (now() - xact_start), ms. */
  longestTransactionMs: number;
  /** Non-idle sessions, longest first. */
  sessions: SessionSample[];
  rollout: Rollout | null;
  /** pg_stat_database counters of the database: numbackends, xact_commit, xact_rollback, blks_read, blks_hit, deadlocks, temp_files, conflicts; sessions_killed, sessions_fatal, sessions_abandoned on PostgreSQL 14+. */
  stats: Record<string, number>;
  /** Every backend of the database except ours, grouped by the exporter's labels. */
  activity: ActivityGroup[];
  /** Set by the monitor's Sampler: settings gauges and per-role compliance, read every few seconds (null when unreadable). */
  config?: ConfigState | null;
  /** Set by the monitor's Sampler with --log: server-log ERROR/FATAL entries by SQLSTATE since it started. */
  logErrors?: Record<string, number> | null;
}

/** Sessions returned row by row at most (longest first); counts always cover every session. */
const MAX_SESSIONS = 500;

// A named statement: parsed and planned once per connection, not once per poll.
// pg_stat_get_activity() is what the pg_stat_activity view reads: called directly and
// filtered on datid, it skips the view's joins for every backend (user names are looked
// up for the returned non-idle sessions only), and the few pg_stat_database counters are
// read by their functions instead of computing every column of the view: half the cost
// at 250 connections (bench/monitor). Without pg_read_all_stats, other roles' sessions
// come back with backend_type and state NULL: they are counted (state 'unknown'), not dropped.
// `all_b`: every backend of the database (autovacuum workers, parallel workers, walsenders…), for the
// exporter-shaped groups; `a`: its client backends, for everything else.
// The session counters (sessions_killed: 25P03 and pg_terminate_backend; sessions_fatal) exist from 14 on.
const sampleSql = (sessionCounters: boolean, instance: boolean) => {
  const counters = `jsonb_build_object(
          'numbackends', pg_stat_get_db_numbackends(oid), 'xact_commit', pg_stat_get_db_xact_commit(oid),
          'xact_rollback', pg_stat_get_db_xact_rollback(oid), 'blks_read', pg_stat_get_db_blocks_fetched(oid) - pg_stat_get_db_blocks_hit(oid),
          'blks_hit', pg_stat_get_db_blocks_hit(oid), 'deadlocks', pg_stat_get_db_deadlocks(oid),
          'temp_files', pg_stat_get_db_temp_files(oid), 'conflicts', pg_stat_get_db_conflict_all(oid)${
            sessionCounters
              ? `,
          'sessions_killed', pg_stat_get_db_sessions_killed(oid), 'sessions_fatal', pg_stat_get_db_sessions_fatal(oid),
          'sessions_abandoned', pg_stat_get_db_sessions_abandoned(oid)`
              : ''
          })`;
  const serverLimit = `current_setting('max_connections')::int
         - current_setting('superuser_reserved_connections')::int
         - coalesce(current_setting('reserved_connections', true)::int, 0)`;
  // The instance scope reads every database in the same statement (as postgres_exporter does); the focus is still $1.
  return `
WITH db AS (SELECT oid, datname, datconnlimit FROM pg_database${instance ? '' : ' WHERE datname = $1'}),
focus AS (SELECT oid, datconnlimit FROM db WHERE datname = $1),
all_b AS (
  SELECT s.datid, pid, backend_start, usesysid, application_name, client_addr, state, wait_event_type, wait_event,
         xact_start, query_start, state_change, query, coalesce(backend_type, 'client backend') AS backend_type
    FROM pg_stat_get_activity(NULL) s
   WHERE ${instance ? 's.datid IN (SELECT oid FROM db)' : 's.datid = (SELECT oid FROM focus)'}
),
a AS (SELECT * FROM all_b WHERE backend_type = 'client backend')
SELECT now() AS at, pg_backend_pid() AS my_pid,
       (SELECT datconnlimit FROM focus) AS datconnlimit,
       ${serverLimit} AS server_limit,
       (SELECT ${counters} FROM focus) AS stats,${
         instance
           ? `
       (SELECT jsonb_agg(jsonb_build_array(datname, datconnlimit, (SELECT count(*) FROM a WHERE a.datid = db.oid), ${counters})) FROM db) AS per_db,`
           : ''
       }
       (SELECT count(*) FROM a)::int AS total,
       (SELECT coalesce(jsonb_object_agg(st, jsonb_build_array(n, max_tx_ms)), '{}')
          FROM (SELECT coalesce(state, 'unknown') AS st, count(*) AS n,
                       coalesce(max(extract(epoch FROM now() - xact_start) * 1000), 0)::float8 AS max_tx_ms
                  FROM a WHERE pid <> pg_backend_pid() GROUP BY 1) s) AS states,
       (SELECT coalesce(jsonb_agg(jsonb_build_array(st, coalesce(pg_get_userbyid(usesysid), ''), app, bt, wet, we, n, max_tx, (SELECT datname FROM db WHERE db.oid = g.datid))), '[]')
          FROM (SELECT coalesce(state, 'unknown') AS st, usesysid, coalesce(application_name, '') AS app, backend_type AS bt,
                       coalesce(wait_event_type, '') AS wet, coalesce(wait_event, '') AS we, count(*) AS n,
                       coalesce(max(extract(epoch FROM now() - xact_start)), 0)::float8 AS max_tx, datid
                  FROM all_b WHERE pid <> pg_backend_pid() GROUP BY 1, 2, 3, 4, 5, 6, datid) g) AS activity,
       (SELECT count(*) FROM a WHERE pid <> pg_backend_pid() AND datid = (SELECT oid FROM focus))::int AS others,
       (SELECT count(*) FROM a WHERE pid <> pg_backend_pid() AND datid = (SELECT oid FROM focus) AND backend_start < $2)::int AS old,
       (SELECT count(*) FROM a WHERE pid <> pg_backend_pid() AND datid = (SELECT oid FROM focus) AND backend_start < $2 AND state = 'idle')::int AS old_idle,
       (SELECT coalesce(jsonb_agg(x ORDER BY x.sort_ms DESC), '[]') FROM (
          SELECT pid, (SELECT datname FROM db WHERE db.oid = a.datid) AS datname, backend_start, pg_get_userbyid(usesysid) AS usename,
                 application_name, host(client_addr) AS client_addr, state,
                 wait_event_type || ':' || wait_event AS wait_event,
                 CASE WHEN wait_event_type = 'Lock' THEN pg_blocking_pids(pid) END AS blocked_by,
                 CASE WHEN state = 'active' THEN extract(epoch FROM now() - query_start) * 1000 END AS query_ms,
                 coalesce(extract(epoch FROM now() - state_change) * 1000, 0) AS state_ms,
                 extract(epoch FROM now() - xact_start) * 1000 AS xact_ms,
                 backend_start < $2 AND datid = (SELECT oid FROM focus) AS old,
                 left(query, 300) AS query,
                 extract(epoch FROM now() - coalesce(CASE WHEN state = 'active' THEN query_start END, state_change)) * 1000 AS sort_ms
            FROM a
           WHERE pid <> pg_backend_pid() AND state IS DISTINCT FROM 'idle'
           ORDER BY sort_ms DESC NULLS LAST
           LIMIT ${MAX_SESSIONS}) x) AS sessions`;
};

export type SampleScope = 'database' | 'instance';

export interface SampleOptions {
  /** Latest apply time (ISO); sessions older than it are on the old settings. */
  appliedAt?: string | null;
  /** 'instance': every database in the one poll (live view `a`, monitor --all-databases). */
  scope?: SampleScope;
}

export const isIdleInTransaction = (state: string | null) => state === 'idle in transaction' || state === 'idle in transaction (aborted)';

/** server_version_num per session, read once: it decides which counters the statement may name. */
const versions = new WeakMap<Client, number>();

async function serverVersion(client: Client): Promise<number> {
  let v = versions.get(client);
  if (v === undefined) {
    v = Number((await client.query(`SELECT current_setting('server_version_num') AS v`)).rows[0].v);
    versions.set(client, v);
  }
  return v;
}

export async function sampleOnce(client: Client, database: string, opts: SampleOptions = {}): Promise<Sample> {
  const counters = (await serverVersion(client)) >= 140000;
  const instance = opts.scope === 'instance';
  const started = performance.now();
  const { rows } = await client.query({
    name: `pgharden_monitor_sample${counters ? '14' : ''}${instance ? '_all' : ''}`,
    text: sampleSql(counters, instance),
    values: [database, opts.appliedAt ?? null],
  });
  const pollMs = performance.now() - started;
  const r = rows[0];
  if (r.datconnlimit === null) throw new Error(`database ${JSON.stringify(database)} does not exist on this server (anymore)`);

  const byState: Record<string, number> = {};
  const maxTxMsByState: Record<string, number> = {};
  for (const [state, [n, maxTx]] of Object.entries(r.states as Record<string, [number, number]>)) {
    byState[state] = n;
    maxTxMsByState[state] = maxTx;
  }
  const sessions: SessionSample[] = (r.sessions as Record<string, unknown>[]).map((s) => ({
    pid: s.pid as number,
    datname: (s.datname as string | null) ?? database,
    blockedBy: (s.blocked_by as number[] | null) ?? [],
    backendStart: new Date(s.backend_start as string).toISOString(),
    usename: s.usename as string | null,
    applicationName: (s.application_name as string) ?? '',
    clientAddr: s.client_addr as string | null,
    state: (s.state as string | null) ?? 'unknown',
    waitEvent: s.wait_event as string | null,
    queryMs: s.query_ms as number | null,
    stateMs: s.state_ms as number,
    xactMs: s.xact_ms as number | null,
    onOldSettings: Boolean(s.old),
    // Alerts, webhooks and pgharden.alerts carry this text: no secret in it (redact-sql.ts).
    query: redactSql((s.query as string | null) ?? ''),
  }));
  // The instance scope is judged against the server's limit; a database against its own when it has one.
  const limitSource = r.datconnlimit >= 0 && !instance ? 'datconnlimit' : 'max_connections';
  return {
    database,
    scope: instance ? 'instance' : 'database',
    ...(instance
      ? {
          databases: (r.per_db as [string, number, number, Record<string, number>][]).map(([datname, datconnlimit, total, stats]) => ({
            datname,
            datconnlimit,
            limit: datconnlimit >= 0 ? datconnlimit : r.server_limit,
            total,
            stats,
          })),
        }
      : {}),
    at: new Date(r.at).toISOString(),
    pollMs,
    myPid: r.my_pid,
    connections: {
      total: r.total,
      byState,
      maxTxMsByState,
      datconnlimit: r.datconnlimit,
      limit: limitSource === 'datconnlimit' ? r.datconnlimit : r.server_limit,
      limitSource,
    },
    longestActiveMs: Math.max(0, ...sessions.map((s) => s.queryMs ?? 0)),
    longestIdleInTransactionMs: Math.max(0, ...sessions.filter((s) => isIdleInTransaction(s.state)).map((s) => s.stateMs)),
    longestTransactionMs: Math.max(0, ...sessions.map((s) => s.xactMs ?? 0)),
    sessions,
    rollout: opts.appliedAt ? { appliedAt: opts.appliedAt, onOldSettings: r.old, idleOnOldSettings: r.old_idle, sessions: r.others } : null,
    stats: r.stats ?? {},
    activity: (r.activity as [string, string, string, string, string, string, number, number, string][]).map(
      ([state, usename, applicationName, backendType, waitEventType, waitEvent, count, maxTxSeconds, datname]) => ({
        datname,
        state,
        usename,
        applicationName,
        backendType,
        waitEventType,
        waitEvent,
        count,
        maxTxSeconds,
      }),
    ),
  };
}
