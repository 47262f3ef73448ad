import type { Client } from '../pg/client.js';
import { readDatabaseState, type DatabaseState, type SessionRow } from '../pg/catalog.js';
import { parseValue, toMilliseconds } from '../pg/units.js';
import { effectiveFor } from '../plan/effective.js';
import { formatDuration } from '../policy/duration.js';
import type { StageContext } from '../stage.js';
import { percent } from './rules.js';
import { latestApplyTime } from './rollout.js';

/**
 * Why a session runs past the statement_timeout new sessions get. The server enforces the
 * limit the session has, so it does not have this one: it connected before the apply (the
 * database value reaches new sessions only), its role carries an override
 * (pg_db_role_setting), or it set its own (SET, PGOPTIONS, a function's SET clause), which
 * only that session can see.
 */
export function whyNoLimit(state: DatabaseState, s: SessionRow, appliedAt: string | null, timeout: number): NoLimit {
  if (appliedAt && s.backendStart < appliedAt) {
    return {
      cause: 'before-apply',
      text: `started before the apply: backend_start ${s.backendStart} < applied ${appliedAt}, so it still runs on the old settings (reconnect it, or monitor --recycle-idle once it is idle)`,
    };
  }
  const eff = s.usename ? effectiveFor(state, s.usename, 'statement_timeout') : null;
  if (eff && (eff.from === 'role in database' || eff.from === 'role')) {
    const meta = state.settings.get('statement_timeout');
    const parsed = meta ? parseValue(meta, eff.value) : null;
    const ms = meta && parsed?.ok ? toMilliseconds(meta, parsed.canonical) : null;
    if (ms === null || ms === 0 || ms > timeout) {
      return {
        cause: 'role-override',
        text: `role override: ALTER ROLE ${s.usename}${eff.from === 'role in database' ? ` IN DATABASE ${state.database.name}` : ''} SET statement_timeout = '${eff.value}'`,
      };
    }
  }
  // Without a journaled apply, the change time is unknown: a session from before an ALTER DATABASE made by hand looks the same.
  return {
    cause: 'session-override',
    text:
      `a session-level override: the session set statement_timeout itself (SET, PGOPTIONS at connect, or a function's SET clause); no catalog value explains it` +
      (appliedAt
        ? ''
        : ` (no pgharden apply is recorded, so a session from before a manual change of the timeout looks the same: backend_start ${s.backendStart})`),
  };
}

/** Why a session does not have the statement_timeout new sessions get. */
export interface NoLimit {
  cause: 'before-apply' | 'role-override' | 'session-override';
  text: string;
}

/**
 * `pgharden diagnose`: the runbook's Troubleshooting Guide as a command. Each of its
 * three issues becomes a finding with the measurements, the sessions or statements
 * involved, and the runbook's remedy. "Near" the timeouts uses the runbook's own
 * margins: 20 s of a 30 s statement timeout (2/3), 30 s of a 60 s idle timeout (1/2).
 */

export interface InvolvedSession {
  pid: number;
  usename: string | null;
  applicationName: string;
  state: string | null;
  durationMs: number;
  query: string;
  /** Set when an active query runs past the statement_timeout new sessions get: why this session does not have the limit. */
  noLimit?: string;
  noLimitCause?: NoLimit['cause'];
}

export interface DiagnoseFinding {
  code: 'queries-near-timeout' | 'sessions-without-limit' | 'connection-pool' | 'idle-transactions';
  /** The runbook's name for the issue. */
  issue: string;
  problem: boolean;
  summary: string;
  remedy: string;
  sessions: InvolvedSession[];
  /** pg_stat_statements entries whose slowest run came near the timeout (when installed). */
  statements?: { queryid: string; query: string; calls: number; maxMs: number; meanMs: number }[];
}

export interface DiagnoseResult {
  ok: boolean;
  database: string;
  /** What a new session without role overrides gets (0 = no timeout). */
  timeouts: { statementTimeoutMs: number; idleInTransactionTimeoutMs: number };
  connections: { total: number; limit: number; limitSource: 'datconnlimit' | 'max_connections'; byState: Record<string, number> };
  findings: DiagnoseFinding[];
}

/** A time parameter's value for new sessions without role overrides, in ms (0 = off). */
function timeoutMs(state: DatabaseState, name: string): number {
  const meta = state.settings.get(name);
  const parsed = meta ? parseValue(meta, effectiveFor(state, '', name).value) : null;
  return meta && parsed?.ok ? (toMilliseconds(meta, parsed.canonical) ?? 0) : 0;
}

const involved = (s: SessionRow, durationMs: number): InvolvedSession => ({
  pid: s.pid,
  usename: s.usename,
  applicationName: s.applicationName,
  state: s.state,
  durationMs,
  query: s.query,
});

export async function diagnose(ctx: StageContext, client: Client): Promise<DiagnoseResult> {
  const state = await readDatabaseState(client, ctx.target.database);
  const appliedAt = await latestApplyTime(client, ctx.target.database);
  const { alerts } = ctx.policy;
  const statementTimeout = timeoutMs(state, 'statement_timeout');
  const idleTimeout = timeoutMs(state, 'idle_in_transaction_session_timeout');
  // With a timeout off, fall back to the policy's alert thresholds.
  const nearQuery = statementTimeout > 0 ? (statementTimeout * 2) / 3 : alerts.long_query.over;
  const nearIdle = idleTimeout > 0 ? idleTimeout / 2 : alerts.idle_in_transaction.over;

  // A query past the timeout is not "near" it: the server would have ended it, so its session
  // does not have the limit. Those are a finding of their own, each with the reason.
  const active = state.sessions.filter((s) => s.state === 'active' && (s.queryMs ?? 0) >= nearQuery);
  const past = (s: SessionRow) => statementTimeout > 0 && (s.queryMs ?? 0) > statementTimeout;
  const byDuration = (a: InvolvedSession, b: InvolvedSession) => b.durationMs - a.durationMs;
  const slow = active
    .filter((s) => !past(s))
    .map((s) => involved(s, s.queryMs ?? 0))
    .sort(byDuration);
  const unlimited = active
    .filter(past)
    .map((s) => {
      const why = whyNoLimit(state, s, appliedAt, statementTimeout);
      return { ...involved(s, s.queryMs ?? 0), noLimit: why.text, noLimitCause: why.cause };
    })
    .sort(byDuration);
  const slowStatements = (state.statements ?? []).filter((s) => s.maxMs >= nearQuery);
  const idle = state.sessions
    .filter((s) => s.state?.startsWith('idle in transaction') && (s.stateMs ?? 0) >= nearIdle)
    .map((s) => involved(s, s.stateMs ?? 0))
    .sort((a, b) => b.durationMs - a.durationMs);

  const byState: Record<string, number> = {};
  for (const s of state.sessions) byState[s.state ?? 'unknown'] = (byState[s.state ?? 'unknown'] ?? 0) + 1;
  const total = state.sessions.length + 1; // our own session holds a slot too
  const limitSource = state.database.connLimit >= 0 ? 'datconnlimit' : 'max_connections';
  const limit = limitSource === 'datconnlimit' ? state.database.connLimit : state.server.maxConnections - state.server.reservedConnections;
  const share = limit > 0 ? total / limit : 1;
  const idleInTx = Object.entries(byState)
    .filter(([k]) => k.startsWith('idle in transaction'))
    .reduce((n, [, v]) => n + v, 0);

  const timeoutText =
    statementTimeout > 0
      ? `the ${formatDuration(statementTimeout)} statement_timeout`
      : 'the long-query alert threshold (statement_timeout is off)';
  const findings: DiagnoseFinding[] = [
    {
      code: 'queries-near-timeout',
      issue: 'Application queries timing out',
      problem: slow.length > 0 || slowStatements.length > 0,
      summary:
        `${slow.length} active quer${slow.length === 1 ? 'y' : 'ies'} running for ${formatDuration(nearQuery)} or more (near ${timeoutText})` +
        (state.statements
          ? `; ${slowStatements.length} statement(s) in pg_stat_statements whose slowest run took that long`
          : '; pg_stat_statements not available'),
      remedy:
        'Optimize the queries (EXPLAIN ANALYZE, indexes), or raise the timeout for those operations only: ' +
        "ALTER ROLE batch_role SET statement_timeout = '5min', or SET LOCAL statement_timeout in that transaction.",
      sessions: slow,
      statements: slowStatements.map(({ queryid, query, calls, maxMs, meanMs }) => ({ queryid, query, calls, maxMs, meanMs })),
    },
    {
      code: 'sessions-without-limit',
      issue: 'Sessions without the statement timeout',
      problem: unlimited.length > 0,
      summary:
        statementTimeout > 0
          ? `${unlimited.length} active quer${unlimited.length === 1 ? 'y' : 'ies'} running past ${timeoutText}: ` +
            (unlimited.length
              ? `${unlimited.length === 1 ? 'that session does' : 'those sessions do'} not have the limit`
              : 'every running session has the limit')
          : 'statement_timeout is off for new sessions: no session has a limit to miss',
      remedy:
        'A session started before the apply gets the limit when it reconnects (restart the pool, or monitor --recycle-idle); ' +
        'a role override: ALTER ROLE … RESET statement_timeout (or keep it deliberately, for that role only); a session override: find the SET in the application or its PGOPTIONS.',
      sessions: unlimited,
    },
    {
      code: 'connection-pool',
      issue: 'Connection pool exhaustion',
      problem: share > alerts.connections.over,
      summary:
        `${total} of ${limit} connections (${percent(share)} of ${limitSource === 'datconnlimit' ? 'the database limit' : 'max_connections minus reserved'}; ` +
        `alert over ${percent(alerts.connections.over)}): ${
          Object.entries(byState)
            .map(([k, v]) => `${v} ${k}`)
            .join(', ') || 'no other sessions'
        }`,
      remedy:
        'Review application connection management: pool sizes against the limit, connections returned to the pool, ' +
        `no sessions left idle in transaction${idleInTx ? ` (${idleInTx} now)` : ''}.`,
      sessions: [],
    },
    {
      code: 'idle-transactions',
      issue: 'Idle transaction buildup',
      problem: idle.length > 0,
      summary:
        `${idle.length} session(s) idle in transaction for ${formatDuration(nearIdle)} or more (state_change)` +
        (idleTimeout > 0 ? `; the server ends them at ${formatDuration(idleTimeout)}` : '; idle_in_transaction_session_timeout is off'),
      remedy:
        'Fix application transaction management: commit or roll back before waiting on anything else; never keep a transaction open across user think time.',
      sessions: idle,
    },
  ];
  return {
    ok: !findings.some((f) => f.problem),
    database: state.database.name,
    timeouts: { statementTimeoutMs: statementTimeout, idleInTransactionTimeoutMs: idleTimeout },
    connections: { total, limit, limitSource, byState },
    findings,
  };
}
