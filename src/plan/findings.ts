import { closest } from '../suggest.js';
import type { DatabaseState, SessionRow } from '../pg/catalog.js';
import { quoteIdent } from '../pg/quote.js';
import { formatValue, parseValue, toMilliseconds } from '../pg/units.js';
import { formatDuration } from '../policy/duration.js';
import { roleOverrideFix } from './effective.js';

export interface Finding {
  severity: 'blocking' | 'advisory';
  code: string;
  message: string;
  setting?: string;
  roles?: string[];
  /** What to write or run instead. */
  fix?: string;
}

/** Why a parameter of each context cannot be set per database, and what to do instead. */
const CONTEXT_ADVICE: Record<string, string> = {
  postmaster:
    'is a server-start parameter (context postmaster): only postgresql.conf or ALTER SYSTEM plus a server restart can change it, never a database',
  sighup:
    'is read from the server configuration (context sighup): change it with ALTER SYSTEM SET and SELECT pg_reload_conf(), for the whole server',
  backend: 'is fixed when a session starts (context backend): set it in postgresql.conf or in the connection options, not per database',
  'superuser-backend':
    "is fixed when a session starts (context superuser-backend): set it in postgresql.conf or in a superuser connection's options, not per database",
  internal: 'is read-only (context internal): it is fixed when the server is built or initialised',
};

export function notSettableFinding(name: string, context: string): Finding {
  const fix =
    name === 'max_connections'
      ? "to cap this database's connections, write `connection_limit: N` in the policy (ALTER DATABASE … CONNECTION LIMIT N)"
      : context === 'sighup'
        ? `ALTER SYSTEM SET ${name} = …; SELECT pg_reload_conf();`
        : context === 'postmaster'
          ? `ALTER SYSTEM SET ${name} = …; then restart the server`
          : undefined;
  return {
    severity: 'blocking',
    code: 'not-database-settable',
    setting: name,
    message: `${name} ${CONTEXT_ADVICE[context] ?? `has context ${context}`}.`,
    fix,
  };
}

/**
 * Parameters that SHOW knows but pg_settings hides (GUC_NO_SHOW_ALL), so they look unknown.
 * Two of them are accepted by ALTER DATABASE and would change who every session is.
 */
const HIDDEN_PARAMETERS: Record<string, { message: string; fix?: string }> = {
  is_superuser: {
    message:
      "is not a setting: it is read-only (context internal) and reports whether the session's current role is a superuser; nothing can set it (SQLSTATE 55P02).",
  },
  role: {
    message:
      "is the parameter behind SET ROLE. ALTER DATABASE accepts it, and then every new session of the database — pgharden's own included — switches to that role at login and acts with its privileges. pgharden refuses to set it.",
    fix: 'grant the privileges the applications need to their own roles (GRANT …); to switch one role on purpose, ALTER ROLE r SET role = … outside pgharden',
  },
  session_authorization: {
    message:
      "is the parameter behind SET SESSION AUTHORIZATION. ALTER DATABASE accepts it, and then every new session of the database — pgharden's own included — takes that identity at login. pgharden refuses to set it.",
    fix: 'connect as the role you mean instead (user= in the connection string)',
  },
  seed: {
    message:
      'is the parameter behind setseed(): it seeds random() for a session and hardens nothing; it is not a database setting pgharden manages.',
    fix: 'remove it from the policy',
  },
};

export function hiddenParameterFinding(name: string): Finding | null {
  const hidden = Object.hasOwn(HIDDEN_PARAMETERS, name) ? HIDDEN_PARAMETERS[name] : null;
  return (
    hidden && { severity: 'blocking', code: 'not-a-policy-setting', setting: name, message: `${name} ${hidden.message}`, fix: hidden.fix }
  );
}

/** Per-transaction parameters: every transaction starts from its default_ twin, so a database-level value never shows. */
const PER_TRANSACTION: Record<string, string> = {
  transaction_read_only: 'default_transaction_read_only',
  transaction_isolation: 'default_transaction_isolation',
  transaction_deferrable: 'default_transaction_deferrable',
};

export function noEffectFinding(name: string): Finding | null {
  if (!Object.hasOwn(PER_TRANSACTION, name)) return null;
  const twin = PER_TRANSACTION[name];
  return {
    severity: 'advisory',
    code: 'no-effect-at-database-level',
    setting: name,
    message: `${name} is set afresh by every transaction from ${twin}: a database-level value is stored but never takes effect.`,
    fix: `write ${twin} instead`,
  };
}

export function unknownParameterFinding(name: string, known: Iterable<string> = []): Finding {
  const near = closest(name, known);
  return {
    severity: 'blocking',
    code: 'unknown-parameter',
    setting: name,
    message: `${name} is not a parameter this server knows (PostgreSQL has no such setting; ${near ? `did you mean ${near}?` : 'check the spelling'}).`,
    ...(near ? { fix: `write ${near} in the policy` } : {}),
  };
}

export function superuserFinding(name: string, state: DatabaseState): Finding {
  return {
    severity: 'blocking',
    code: 'superuser-privilege',
    setting: name,
    message: `${name} has context superuser: ${state.me.user} is not a superuser${state.server.versionNum >= 150000 ? ' and has no SET privilege on it' : ''}, so ALTER DATABASE cannot set it.`,
    fix:
      state.server.versionNum >= 150000
        ? `as a superuser: GRANT SET ON PARAMETER ${name} TO ${quoteIdent(state.me.user)};`
        : 'apply as a superuser',
  };
}

export function notOwnerFinding(state: DatabaseState): Finding {
  return {
    severity: 'blocking',
    code: 'not-owner',
    message: `${state.me.user} neither owns database ${state.database.name} (owner: ${state.database.owner}) nor is a superuser: ALTER DATABASE needs one of them.`,
    fix: `connect as ${state.database.owner} or a superuser`,
  };
}

/** Limits non-superusers can actually reach: max_connections minus the reserved slots. */
export function connectionLimitFindings(state: DatabaseState, limit: number): Finding[] {
  const findings: Finding[] = [];
  const usable = state.server.maxConnections - state.server.reservedConnections;
  if (limit >= usable) {
    findings.push({
      severity: 'blocking',
      code: 'connection-limit-too-high',
      setting: 'connection_limit',
      message: `connection_limit ${limit} is not below what the server gives non-superusers: max_connections ${state.server.maxConnections} − ${state.server.reservedConnections} reserved = ${usable}; the limit would never bite.`,
      fix: `lower connection_limit below ${usable}, or raise max_connections in postgresql.conf and restart`,
    });
  }
  const supers = state.loginRoles.filter((r) => r.superuser).map((r) => r.name);
  if (supers.length && limit >= 0) {
    findings.push({
      severity: 'advisory',
      code: 'superusers-bypass-limit',
      setting: 'connection_limit',
      roles: supers,
      message: `superusers bypass the database connection limit: ${supers.join(', ')} can still connect past ${limit}.`,
    });
  }
  return findings;
}

/** Roles whose own values (ALTER ROLE … SET) override the database-level target for new sessions. */
export function roleOverrideFindings(state: DatabaseState, name: string): Finding[] {
  return state.roleSettings
    .filter((r) => r.name === name && r.role !== null)
    .map((r) => ({
      severity: 'advisory' as const,
      code: 'role-override',
      setting: name,
      roles: [r.role!],
      message: `role ${r.role} sets ${name} = ${r.value} ${r.scope === 'in-database' ? `in database ${state.database.name}` : 'in every database'}; that overrides the database-level value for its sessions.`,
      fix: roleOverrideFix(r.role!, r.scope, name, state.database.name, quoteIdent),
    }));
}

/** Sessions and statements that the new timeouts would already cut off. */
export function workloadFindings(state: DatabaseState, targets: Record<string, string>): Finding[] {
  const findings: Finding[] = [];
  const ms = (name: string) => {
    const meta = state.settings.get(name);
    const parsed = meta && targets[name] !== undefined ? parseValue(meta, targets[name]) : null;
    const value = parsed?.ok ? toMilliseconds(meta!, parsed.canonical) : null;
    return value && value > 0 ? value : null;
  };
  const statementTimeout = ms('statement_timeout');
  const idleTimeout = ms('idle_in_transaction_session_timeout');
  if (statementTimeout) {
    const slow = sessionsOver(state, 'active', (s) => s.queryMs, statementTimeout);
    if (slow)
      findings.push({
        ...slow,
        code: 'sessions-over-statement-timeout',
        setting: 'statement_timeout',
        message: `${slow.message.replace('{what}', 'are running a statement longer than the new statement_timeout')}. They keep their old settings, but the same work in a new session would be cancelled.`,
      });
    const heavy = (state.statements ?? []).filter((s) => s.maxMs > statementTimeout);
    if (heavy.length) {
      findings.push({
        severity: 'advisory',
        code: 'statements-over-statement-timeout',
        setting: 'statement_timeout',
        message:
          `${heavy.length} statement(s) in pg_stat_statements have taken longer than ${formatDuration(statementTimeout)} and would be cancelled (SQLSTATE 57014): ` +
          heavy
            .slice(0, 3)
            .map((s) => `${JSON.stringify(s.query.slice(0, 60))} max ${formatDuration(s.maxMs)}`)
            .join('; '),
        fix: 'optimise them, or give their role a longer timeout on purpose (ALTER ROLE … SET statement_timeout)',
      });
    }
  }
  if (idleTimeout) {
    const idle = sessionsOver(state, 'idle in transaction', (s) => s.stateMs, idleTimeout);
    if (idle)
      findings.push({
        ...idle,
        code: 'sessions-over-idle-timeout',
        setting: 'idle_in_transaction_session_timeout',
        message: `${idle.message.replace('{what}', 'have been idle in transaction longer than the new limit')}.`,
      });
  }
  return findings;
}

/** Sessions in `state` for longer than `limitMs`, as the common part of an advisory finding (message has a `{what}` slot). */
function sessionsOver(state: DatabaseState, sessionState: string, durationOf: (s: SessionRow) => number | null, limitMs: number) {
  const over = state.sessions.filter((s) => s.state === sessionState && (durationOf(s) ?? 0) > limitMs);
  if (!over.length) return null;
  return {
    severity: 'advisory' as const,
    roles: [...new Set(over.map((s) => s.usename ?? '?'))],
    message:
      `${over.length} session(s) {what} (${formatDuration(limitMs)}): ` +
      over
        .slice(0, 5)
        .map((s) => `pid ${s.pid} (${s.usename}, ${formatDuration(durationOf(s)!)})`)
        .join(', '),
  };
}

export function describeValue(state: DatabaseState, name: string, value: string | null): string {
  if (value === null) return '—';
  const meta = state.settings.get(name);
  const parsed = meta ? parseValue(meta, value) : null;
  return meta && parsed?.ok && (meta.vartype === 'integer' || meta.vartype === 'real') ? formatValue(meta, parsed.canonical) : value;
}
