import YAML from 'yaml';
import { formatDuration } from '../policy/duration.js';
import { describeRule, percent, type AlertRule, type RuleName } from './rules.js';

/**
 * `pgharden alerts export --format prometheus-rules`: the policy's thresholds as a
 * Prometheus alerting-rules file, for teams that watch many databases with Prometheus and
 * Alertmanager instead of this process. Two metric sources:
 *  - `pgharden` (default): the series `pgharden monitor --prometheus` serves — exact
 *    semantics (query_start for queries, state_change for idle in transaction);
 *  - `postgres_exporter`: only series postgres_exporter has. It measures transactions
 *    (xact_start), not queries, so these rules fire at least as early as the exact ones.
 */
export type MetricSource = 'pgharden' | 'postgres_exporter';

const ALERT_NAMES: Record<RuleName, string> = {
  long_query: 'PostgresLongRunningQuery',
  idle_in_transaction: 'PostgresIdleInTransaction',
  connections: 'PostgresConnectionsNearLimit',
  transaction_age: 'PostgresLongTransaction',
};

const REMEDY: Record<RuleName, string> = {
  long_query:
    'Optimize the query, or raise statement_timeout for that role or operation only (runbook: Troubleshooting, "Application queries timing out"). Run `pgharden diagnose`.',
  idle_in_transaction:
    'Fix application transaction management: commit or roll back promptly (runbook: "Idle transaction buildup"). Run `pgharden diagnose`.',
  connections: 'Review application connection management and pool sizes (runbook: "Connection pool exhaustion"). Run `pgharden diagnose`.',
  transaction_age:
    'A transaction held open this long keeps its locks and holds back vacuum (xmin), even when each statement and idle gap is short. Find it with `pgharden diagnose`; commit sooner.',
};

/** `, usename!~"pg_dump|backup"` … from the rule's exclusions (PromQL regexes match the whole value, as ours do). */
function exclusionMatchers(rule: AlertRule): string {
  const m: string[] = [];
  const q = (re: RegExp) => JSON.stringify(re.source);
  if (rule.exclude?.user) m.push(`usename!~${q(rule.exclude.user)}`);
  if (rule.exclude?.application) m.push(`application_name!~${q(rule.exclude.application)}`);
  if (rule.exclude?.backendType) m.push(`backend_type!~${q(rule.exclude.backendType)}`);
  return m.map((x) => `,${x}`).join('');
}

// Client backends only: an autovacuum worker or a walsender is never a "long query" of the application.
const CLIENT = 'backend_type="client backend"';

function expression(rule: AlertRule, source: MetricSource): string {
  const seconds = +(rule.over / 1000).toFixed(3);
  if (source === 'pgharden') {
    // A rule with exclusions reads the monitor's per-rule gauge, computed over the sessions it does not exclude.
    if (rule.name !== 'connections' && hasExclusions(rule))
      return `pgharden_rule_longest_seconds{rule="${rule.name}",${CLIENT}} > ${seconds}`;
    switch (rule.name) {
      case 'long_query':
        return `pgharden_longest_active_query_seconds{${CLIENT}} > ${seconds}`;
      case 'idle_in_transaction':
        return `pgharden_longest_idle_in_transaction_seconds{${CLIENT}} > ${seconds}`;
      case 'transaction_age':
        return `pgharden_longest_transaction_seconds{${CLIENT}} > ${seconds}`;
      case 'connections':
        return `pgharden_connections_used_ratio > ${rule.over}`;
    }
  }
  const ex = exclusionMatchers(rule);
  const labels = 'usename, application_name, wait_event_type, wait_event';
  switch (rule.name) {
    case 'long_query':
      return `max without (${labels}) (pg_stat_activity_max_tx_duration{state="active",${CLIENT}${ex}}) > ${seconds}`;
    case 'idle_in_transaction':
      return `max without (state, ${labels}) (pg_stat_activity_max_tx_duration{state=~"idle in transaction.*",${CLIENT}${ex}}) > ${seconds}`;
    case 'transaction_age':
      return `max without (state, ${labels}) (pg_stat_activity_max_tx_duration{${CLIENT}${ex}}) > ${seconds}`;
    case 'connections':
      // Databases with a limit against it; the server's client slots for all databases together.
      return (
        `(sum by (instance, datname) (pg_stat_activity_count{backend_type="client backend"}) / on (instance, datname) (pg_database_connection_limit > 0)) > ${rule.over}\n` +
        `or (sum by (instance) (pg_stat_activity_count{backend_type="client backend"}) / on (instance) (pg_settings_max_connections - pg_settings_superuser_reserved_connections)) > ${rule.over}`
      );
  }
}

export const hasExclusions = (r: AlertRule) => Boolean(r.exclude?.user || r.exclude?.application || r.exclude?.backendType);

/** A Prometheus duration: `0s`, `1m` is written `60s`, `1500ms`. */
const promDuration = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000}s` : `${Math.round(ms)}ms`);

export function prometheusRules(rules: AlertRule[], source: MetricSource = 'pgharden'): string {
  const doc = {
    groups: [
      {
        name: 'pgharden',
        rules: rules.map((r) => ({
          alert: ALERT_NAMES[r.name],
          expr: expression(r, source),
          for: promDuration(r.for ?? (r.name === 'connections' ? 60_000 : 0)),
          labels: { severity: r.severity, pgharden_rule: r.name },
          annotations: {
            summary: `PostgreSQL ${r.severity}: ${describeRule(r)} ({{ $labels.datname }} on {{ $labels.instance }})`,
            description:
              `${r.name === 'connections' ? 'Connection share is {{ $value | humanizePercentage }}' : 'Longest is {{ $value | humanize }}s'}; the threshold is ` +
              `${r.name === 'connections' ? percent(r.over) : formatDuration(r.over)}. ${REMEDY[r.name]}`,
          },
        })),
      },
    ],
  };
  const header =
    `# Generated by pgharden alerts export --format prometheus-rules --metrics ${source}\n` +
    `# from the policy's alerts: block. Load with rule_files: in prometheus.yml; check with promtool check rules.\n`;
  return header + YAML.stringify(doc, { lineWidth: 0 });
}
