import { formatDuration } from '../policy/duration.js';
import { elapsed } from './elapsed.js';
import type { Policy } from '../policy/schema.js';
import { isIdleInTransaction, type Sample } from './sample.js';

/**
 * The policy's `alerts:` block as rules. Thresholds and severities are data: each rule
 * turns a Sample into the conditions that hold right now; the AlertEngine (engine.ts)
 * gives them a firing/resolved lifecycle.
 */

export type Severity = 'critical' | 'warning' | 'info';
export type RuleName = 'long_query' | 'idle_in_transaction' | 'connections';

export interface AlertRule {
  name: RuleName;
  severity: Severity;
  /** ms for the duration rules; a fraction of the connection limit for `connections`. */
  over: number;
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

export function rulesFromPolicy(alerts: Policy['alerts']): AlertRule[] {
  return (['long_query', 'idle_in_transaction', 'connections'] as const).map((name) => ({ name, ...alerts[name] }));
}

/** What each rule measures, in words, for help text, exports and diagnose. */
export function describeRule(rule: AlertRule): string {
  switch (rule.name) {
    case 'long_query': return `a query active for more than ${formatDuration(rule.over)}`;
    case 'idle_in_transaction': return `a session idle in transaction for more than ${formatDuration(rule.over)}`;
    case 'connections': return `connections above ${percent(rule.over)} of the database's limit`;
  }
}

/** `0.8` → `80%`. */
export const percent = (share: number) => `${Math.round(share * 100)}%`;

/** Per session, by pid + backend_start: a pid reused by a new backend is another session. */
const sessionKey = (rule: RuleName, s: { pid: number; backendStart: string }) => `${rule}:${s.pid}:${s.backendStart}`;

/**
 * A firing connections alert resolves only once the share is this much under the threshold,
 * so a pool hovering at 80 % does not fire and resolve on every other poll. Session alerts
 * need no margin: a query or a transaction that ended does not come back.
 */
export const CONNECTIONS_CLEAR_MARGIN = 0.05;

/** The conditions of `rule` in `sample`; `firing(key)` says which are firing now (for hysteresis). */
export function evaluate(rule: AlertRule, sample: Sample, firing: (key: string) => boolean = () => false): Condition[] {
  const base = { rule: rule.name, severity: rule.severity, database: sample.database, threshold: rule.over };
  if (rule.name === 'connections') {
    const { total, limit, limitSource } = sample.connections;
    const share = limit > 0 ? total / limit : 1;
    const key = `connections:${sample.database}`;
    if (share <= rule.over - (firing(key) ? CONNECTIONS_CLEAR_MARGIN : 0)) return [];
    const of = limitSource === 'datconnlimit' ? 'the database connection limit' : 'max_connections minus reserved slots';
    return [{
      ...base, key, value: share,
      message: `${total} connections on ${sample.database}: ${percent(share)} of ${of} (${limit}), ` +
        (share > rule.over ? `over ${percent(rule.over)}` : `no longer over ${percent(rule.over)}, resolves at ${percent(rule.over - CONNECTIONS_CLEAR_MARGIN)}`),
    }];
  }
  const idle = rule.name === 'idle_in_transaction';
  return sample.sessions.flatMap((s) => {
    const ms = idle ? (isIdleInTransaction(s.state) ? s.stateMs : null) : s.queryMs;
    if (ms === null || ms <= rule.over) return [];
    const what = idle ? `idle in transaction for ${elapsed(ms)}` : `query running for ${elapsed(ms)}`;
    return [{
      ...base, key: sessionKey(rule.name, s), value: ms,
      message: `pid ${s.pid} (${s.usename ?? '?'}${s.applicationName ? `, ${s.applicationName}` : ''}) ${what}, over ${formatDuration(rule.over)}`,
      pid: s.pid, backendStart: s.backendStart, usename: s.usename, applicationName: s.applicationName, query: s.query,
    }];
  });
}
