import { formatDuration } from '../policy/duration.js';
import { elapsed } from './elapsed.js';
import type { Policy } from '../policy/schema.js';
import { isIdleInTransaction, type Sample, type SessionSample } from './sample.js';

/**
 * The policy's `alerts:` block as rules. Thresholds and severities are data: each rule
 * turns a Sample into the conditions that hold right now; the AlertEngine (engine.ts)
 * gives them a firing/resolved lifecycle.
 */

export type Severity = 'critical' | 'warning' | 'info';
export type RuleName = 'long_query' | 'idle_in_transaction' | 'connections' | 'transaction_age';

export interface AlertRule {
  name: RuleName;
  severity: Severity;
  /** ms for the duration rules; a fraction of the connection limit for `connections`. */
  over: number;
  /** How long the condition must hold before the exported Prometheus rule fires (ms). */
  for?: number;
  /** Sessions whose user, application name or backend type match never fire this rule. */
  exclude?: { user?: RegExp; application?: RegExp; backendType?: RegExp };
  /** Set when the rule has a warning and a critical level: the alert keys then carry the severity. */
  leveled?: boolean;
}

/** A rule's condition holding now: `key` identifies it across polls. */
export interface Condition {
  rule: RuleName;
  severity: Severity;
  database: string;
  key: string;
  /** The measured value (ms, or a fraction) and the threshold it passed. */
  value: number;
  threshold: number;
  message: string;
  pid?: number;
  backendStart?: string;
  usename?: string | null;
  applicationName?: string;
  query?: string;
}

export const SEVERITY_RANK: Record<Severity, number> = { critical: 3, warning: 2, info: 1 };

export const RULE_NAMES: RuleName[] = ['long_query', 'idle_in_transaction', 'connections', 'transaction_age'];

/** One AlertRule per level of each rule the policy has (transaction_age only when it names it). */
export function rulesFromPolicy(alerts: Policy['alerts']): AlertRule[] {
  return RULE_NAMES.flatMap((name) => {
    const r = alerts[name];
    if (!r) return [];
    const levels = r.levels ?? [{ severity: r.severity, over: r.over }];
    const ex = r.exclude ?? {};
    const exclude = {
      user: ex.user !== undefined ? new RegExp(ex.user) : undefined,
      application: ex.application !== undefined ? new RegExp(ex.application) : undefined,
      backendType: ex.backend_type !== undefined ? new RegExp(ex.backend_type) : undefined,
    };
    // for: defaults to 0 s for the duration rules (their threshold is already a duration), 1 m for connections.
    const forMs = r.for ?? (name === 'connections' ? 60_000 : 0);
    return levels.map((l) => ({ name, severity: l.severity, over: l.over, for: forMs, exclude, leveled: levels.length > 1 }));
  });
}

/** Whether a session is excluded from a rule (the whole string must match, as PromQL's =~ does). */
export function excluded(rule: AlertRule, s: { usename: string | null; applicationName: string; backendType?: string }): boolean {
  const full = (re: RegExp | undefined, v: string) => re !== undefined && new RegExp(`^(?:${re.source})$`).test(v);
  const ex = rule.exclude;
  return (
    Boolean(ex) &&
    (full(ex!.user, s.usename ?? '') ||
      full(ex!.application, s.applicationName) ||
      full(ex!.backendType, s.backendType ?? 'client backend'))
  );
}

/** What each rule measures, in words, for help text, exports and diagnose. */
export function describeRule(rule: AlertRule): string {
  switch (rule.name) {
    case 'long_query':
      return `a query active for more than ${formatDuration(rule.over)}`;
    case 'idle_in_transaction':
      return `a session idle in transaction for more than ${formatDuration(rule.over)}`;
    case 'connections':
      return `connections above ${percent(rule.over)} of the database's limit`;
    case 'transaction_age':
      return `a transaction open for more than ${formatDuration(rule.over)}`;
  }
}

/** `0.8` → `80%`. */
export const percent = (share: number) => `${Math.round(share * 100)}%`;

/** Per session, by pid + backend_start: a pid reused by a new backend is another session. */
const sessionKey = (rule: AlertRule, s: { pid: number; backendStart: string }) =>
  `${rule.leveled ? `${rule.name}/${rule.severity}` : rule.name}:${s.pid}:${s.backendStart}`;

/**
 * A firing connections alert resolves only once the share is this much under the threshold,
 * so a pool hovering at 80 % does not fire and resolve on every other poll. Session alerts
 * need no margin: a query or a transaction that ended does not come back.
 */
export const CONNECTIONS_CLEAR_MARGIN = 0.05;

/** What a session rule measures of a session (ms), or null when it does not apply to it. */
export function ruleMeasure(rule: AlertRule, s: SessionSample): number | null {
  if (rule.name === 'transaction_age') return s.xactMs;
  if (rule.name === 'idle_in_transaction') return isIdleInTransaction(s.state) ? s.stateMs : null;
  return s.queryMs;
}

/** The conditions of `rule` in `sample`; `firing(key)` says which are firing now (for hysteresis). */
export function evaluate(rule: AlertRule, sample: Sample, firing: (key: string) => boolean = () => false): Condition[] {
  const base = { rule: rule.name, severity: rule.severity, database: sample.database, threshold: rule.over };
  if (rule.name === 'connections') {
    const { total, limit, limitSource } = sample.connections;
    const share = limit > 0 ? total / limit : 1;
    const key = `${rule.leveled ? `connections/${rule.severity}` : 'connections'}:${sample.database}`;
    if (share <= rule.over - (firing(key) ? CONNECTIONS_CLEAR_MARGIN : 0)) return [];
    const of = limitSource === 'datconnlimit' ? 'the database connection limit' : 'max_connections minus reserved slots';
    return [
      {
        ...base,
        key,
        value: share,
        message:
          `${total} connections on ${sample.database}: ${percent(share)} of ${of} (${limit}), ` +
          (share > rule.over
            ? `over ${percent(rule.over)}`
            : `no longer over ${percent(rule.over)}, resolves at ${percent(rule.over - CONNECTIONS_CLEAR_MARGIN)}`),
      },
    ];
  }
  const idle = rule.name === 'idle_in_transaction';
  const xact = rule.name === 'transaction_age';
  return sample.sessions.flatMap((s) => {
    const ms = ruleMeasure(rule, s);
    if (ms === null || ms <= rule.over || excluded(rule, s)) return [];
    const what = xact
      ? `transaction open for ${elapsed(ms)} (${s.state})`
      : idle
        ? `idle in transaction for ${elapsed(ms)}`
        : `query running for ${elapsed(ms)}`;
    return [
      {
        ...base,
        key: sessionKey(rule, s),
        value: ms,
        message: `pid ${s.pid} (${s.usename ?? '?'}${s.applicationName ? `, ${s.applicationName}` : ''}) ${what}, over ${formatDuration(rule.over)}`,
        pid: s.pid,
        backendStart: s.backendStart,
        usename: s.usename,
        applicationName: s.applicationName,
        query: s.query,
      },
    ];
  });
}
