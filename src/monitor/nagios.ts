import { formatDuration } from '../policy/duration.js';
import { AlertEngine, type Alert } from './engine.js';
import type { AlertRule } from './rules.js';
import type { Sample } from './sample.js';

/** Nagios plugin exit codes (also check_postgres, Icinga, Sensu, Zabbix's nagios checks). */
export const NagiosCode = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 } as const;
export type NagiosStatus = keyof typeof NagiosCode;

export interface NagiosResult {
  status: NagiosStatus;
  exitCode: number;
  line: string;
  alerts: Alert[];
}

/**
 * `monitor --once`: one sample judged by the policy's rules, as a check_postgres-style line
 * `PGHARDEN CRITICAL - <what> | <perfdata>`. A `critical` rule makes CRITICAL, a `warning`
 * one WARNING; `info` alerts are named in the text but stay OK (Nagios has no info state).
 */
export function nagiosCheck(sample: Sample, rules: AlertRule[]): NagiosResult {
  const engine = new AlertEngine(rules);
  engine.update(sample);
  const alerts = engine.firing();
  const status: NagiosStatus = alerts.some((a) => a.severity === 'critical')
    ? 'CRITICAL'
    : alerts.some((a) => a.severity === 'warning')
      ? 'WARNING'
      : 'OK';
  const { total, limit } = sample.connections;
  const summary = alerts.length
    ? alerts.map((a) => `${a.severity}: ${a.message}`).join('; ')
    : `${sample.database}: ${total}/${limit} connections, longest query ${formatDuration(sample.longestActiveMs)}, ` +
      `longest idle in transaction ${formatDuration(sample.longestIdleInTransactionMs)}`;
  return { status, exitCode: NagiosCode[status], line: `PGHARDEN ${status} - ${summary} | ${perfdata(sample, rules)}`, alerts };
}

export function unknownLine(message: string): string {
  return `PGHARDEN UNKNOWN - ${message.replace(/\s*\n\s*/g, '; ')}`;
}

/** label=value[unit];warn;crit;min;max — each threshold in the slot of its rule's severity. */
function perfdata(s: Sample, rules: AlertRule[]): string {
  // A rule with warning and critical levels fills both slots.
  const slots = (name: AlertRule['name'], scale: (v: number) => string): string => {
    const of = (sev: string) => rules.find((x) => x.name === name && x.severity === sev);
    const w = of('warning');
    const c = of('critical');
    return `${w ? scale(w.over) : ''};${c ? scale(c.over) : ''}`;
  };
  const has = (name: AlertRule['name']) => rules.some((r) => r.name === name);
  const seconds = (ms: number) => (ms / 1000).toFixed(3).replace(/\.?0+$/, '') || '0';
  const limit = s.connections.limit;
  const items = [
    has('connections') && `connections=${s.connections.total};${slots('connections', (f) => String(Math.floor(f * limit)))};0;${limit}`,
    has('long_query') && `longest_query=${seconds(s.longestActiveMs)}s;${slots('long_query', seconds)};0`,
    has('idle_in_transaction') &&
      `longest_idle_in_transaction=${seconds(s.longestIdleInTransactionMs)}s;${slots('idle_in_transaction', seconds)};0`,
    has('transaction_age') && `longest_transaction=${seconds(s.longestTransactionMs)}s;${slots('transaction_age', seconds)};0`,
  ].filter((x): x is string => Boolean(x));
  if (s.rollout) items.push(`sessions_on_old_settings=${s.rollout.onOldSettings};;;0`);
  if (s.rollout?.poolers?.length)
    items.push(`pgbouncer_servers_on_old_settings=${s.rollout.poolers.reduce((n, p) => n + p.onOldSettings, 0)};;;0`);
  return items.join(' ');
}
