import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { Gauge, Registry } from 'prom-client';
import { UsageError } from '../../errors.js';
import { hasExclusions } from '../prometheus-rules.js';
import { excluded, ruleMeasure, type AlertRule } from '../rules.js';
import type { Sample } from '../sample.js';
import type { Sink } from './sink.js';
import { basicAuth, type WebConfig } from './web-config.js';

/** The states postgres_exporter always reports (0 when none), so series never vanish. */
const STATES = ['active', 'idle', 'idle in transaction', 'idle in transaction (aborted)', 'fastpath function call', 'disabled'];

/** postgres_exporter v0.17.x labels of pg_stat_activity_count / pg_stat_activity_max_tx_duration. */
export const ACTIVITY_LABELS = ['datname', 'state', 'usename', 'application_name', 'backend_type', 'wait_event_type', 'wait_event'];

/** pg_stat_database counters the runbook's rollback triggers watch (sessions_* exist from PostgreSQL 14). */
const DB_COUNTERS = ['xact_commit', 'xact_rollback', 'deadlocks', 'sessions_killed', 'sessions_fatal', 'sessions_abandoned'];

/** `9632`, `:9632`, `0.0.0.0:9632`, `[::1]:9632` → host and port (default host 127.0.0.1: not exposed by accident). */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:(?:\[([^\]]+)\]|([^:[\]]*)):)?(\d+)$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port > 65535) {
    throw new UsageError(`--prometheus ${JSON.stringify(text)}: expected [HOST:]PORT, e.g. 9632 or 0.0.0.0:9632`);
  }
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

export interface PrometheusSink extends Sink {
  /** Where /metrics is served, e.g. http://127.0.0.1:9632/metrics (https with a web config's TLS). */
  url: string;
}

/**
 * --prometheus HOST:PORT: /metrics in the text exposition format, via prom-client on a
 * registry of its own. Names follow postgres_exporter where they overlap, so existing
 * dashboards and rules work; what it lacks is prefixed `pgharden_`.
 */
export async function prometheusSink(
  listen: string,
  rules: AlertRule[],
  web: (WebConfig & { file: string }) | null = null,
): Promise<PrometheusSink> {
  const { host, port } = parseListen(listen);
  const registry = new Registry();
  const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers: [registry] });

  const up = gauge('pg_up', 'Whether the last poll of the database succeeded (1) or not (0).');
  // postgres_exporter v0.17's label set (collector/pg_stat_activity): every backend type, the poller's own session excluded.
  const activity = gauge(
    'pg_stat_activity_count',
    'Backends of the database by state, user, application, backend type and wait event (the monitor itself excluded).',
    ACTIVITY_LABELS,
  );
  const maxTx = gauge(
    'pg_stat_activity_max_tx_duration',
    'Longest open transaction (now() - xact_start) per label set, in seconds.',
    ACTIVITY_LABELS,
  );
  const datLimit = gauge('pg_database_connection_limit', 'pg_database.datconnlimit (-1: no database limit).', ['datname']);
  const limit = gauge(
    'pgharden_connection_limit',
    'The connection limit that applies: datconnlimit, or max_connections minus reserved slots.',
    ['datname'],
  );
  const used = gauge('pgharden_connections_used_ratio', 'Client connections divided by pgharden_connection_limit.', ['datname']);
  const longestQuery = gauge(
    'pgharden_longest_active_query_seconds',
    'Longest running active query of a client backend (now() - query_start), in seconds.',
    ['datname', 'backend_type'],
  );
  const longestIdle = gauge(
    'pgharden_longest_idle_in_transaction_seconds',
    'Longest idle-in-transaction time of a client backend (now() - state_change), in seconds.',
    ['datname', 'backend_type'],
  );
  const longestXact = gauge(
    'pgharden_longest_transaction_seconds',
    'Longest open transaction of a client backend (now() - xact_start), in seconds.',
    ['datname', 'backend_type'],
  );
  const ruleLongest = gauge(
    'pgharden_rule_longest_seconds',
    'Per session rule with exclusions: the longest value over the sessions it does not exclude, in seconds.',
    ['datname', 'rule', 'backend_type'],
  );
  const old = gauge('pgharden_sessions_on_old_settings', 'Sessions that began before the latest apply and still run on the old settings.', [
    'datname',
  ]);
  const compliant = gauge(
    'pgharden_policy_compliant',
    "1 when a new session of this login role gets the policy's value of this setting (role overrides included), else 0.",
    ['datname', 'setting', 'role'],
  );
  // pg_stat_database counters (postgres_exporter's names): sessions_killed counts 25P03 and pg_terminate_backend, sessions_fatal 53300 and other FATALs.
  const dbCounters = Object.fromEntries(
    DB_COUNTERS.map((c) => [c, gauge(`pg_stat_database_${c}`, `pg_stat_database.${c} of the database (a counter).`, ['datname'])]),
  );
  const logErrors = gauge(
    'pgharden_log_errors_total',
    'Server-log ERROR/FATAL entries by SQLSTATE since the monitor started (--log; 57014 statement timeout, 25P03 idle-in-transaction timeout, 53300 too many connections).',
    ['datname', 'sqlstate'],
  );
  const settingGauges = new Map<string, Gauge>();
  const firing = gauge('pgharden_alert_firing', 'Alerts firing now, per rule (sessions or conditions).', ['rule', 'severity']);
  const threshold = gauge('pgharden_alert_threshold', 'Alert thresholds from the policy: seconds, or a ratio for connections.', [
    'rule',
    'severity',
  ]);
  const poll = gauge('pgharden_poll_duration_seconds', 'Round-trip time of the last poll, in seconds.');

  const setStatic = () => {
    for (const r of rules) threshold.set({ rule: r.name, severity: r.severity }, r.name === 'connections' ? r.over : r.over / 1000);
  };
  // A scrape must describe now: while the database cannot be polled only pg_up (0) is served,
  // as postgres_exporter's series disappear, so no alert stays frozen on a last value.
  // (Unlabelled gauges would still print 0 after a reset, so while down only pg_up is rendered.)
  let down = true;
  const dropAll = () => {
    down = true;
    registry.resetMetrics();
    up.set(0);
  };
  dropAll();

  const authorized = web?.users ? await basicAuth(web.users, web.file) : null;
  const handler: http.RequestListener = async (req, res) => {
    if (authorized && !(await authorized(req.headers.authorization))) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="pgharden monitor"', 'content-type': 'text/plain' }).end('Unauthorized\n');
      return;
    }
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !req.url?.startsWith('/metrics')) {
      res
        .writeHead(req.method === 'GET' || req.method === 'HEAD' ? 404 : 405, { 'content-type': 'text/plain' })
        .end('pgharden monitor: see /metrics\n');
      return;
    }
    (down ? registry.getSingleMetricAsString('pg_up').then((t) => t + '\n') : registry.metrics()).then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(text) });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err) => res.writeHead(500).end(String(err)),
    );
  };
  const server = web?.tls
    ? https.createServer(
        {
          cert: web.tls.cert,
          key: web.tls.key,
          ca: web.tls.ca,
          requestCert: web.tls.requireClientCert,
          rejectUnauthorized: web.tls.requireClientCert,
        },
        handler,
      )
    : http.createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new UsageError(`--prometheus ${listen}: cannot listen on ${host}:${port}: ${err.message}`)));
    server.listen(port, host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  const shownHost = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;

  return {
    url: `${web?.tls ? 'https' : 'http'}://${shownHost}:${bound.port}/metrics`,
    sample(s, alerts) {
      const datname = s.database;
      registry.resetMetrics(); // series of sessions, roles or settings that went away must go too
      down = false;
      up.set(1);
      setStatic();
      // Every state at 0 (empty other labels) as the exporter's VALUES list does, so sum by (state) never vanishes.
      for (const d of databasesOf(s)) {
        const seen = new Set(s.activity.filter((g) => g.datname === d.datname).map((g) => g.state));
        for (const state of STATES) {
          if (seen.has(state)) continue;
          const labels = {
            datname: d.datname,
            state,
            usename: '',
            application_name: '',
            backend_type: '',
            wait_event_type: '',
            wait_event: '',
          };
          activity.set(labels, 0);
          maxTx.set(labels, 0);
        }
        datLimit.set({ datname: d.datname }, d.datconnlimit);
        limit.set({ datname: d.datname }, d.limit);
        used.set({ datname: d.datname }, d.limit > 0 ? d.total / d.limit : 1);
        for (const c of DB_COUNTERS) if (typeof d.stats[c] === 'number') dbCounters[c].set({ datname: d.datname }, d.stats[c]);
      }
      for (const g of s.activity) {
        const labels = {
          datname: g.datname,
          state: g.state,
          usename: g.usename,
          application_name: g.applicationName,
          backend_type: g.backendType,
          wait_event_type: g.waitEventType,
          wait_event: g.waitEvent,
        };
        activity.set(labels, g.count);
        maxTx.set(labels, g.maxTxSeconds);
      }
      for (const d of databasesOf(s)) {
        const mine = s.sessions.filter((x) => x.datname === d.datname);
        const longest = (f: (x: Sample['sessions'][number]) => number | null) => Math.max(0, ...mine.map((x) => f(x) ?? 0)) / 1000;
        const labels = { datname: d.datname, backend_type: 'client backend' };
        longestQuery.set(
          labels,
          longest((x) => x.queryMs),
        );
        longestIdle.set(
          labels,
          longest((x) => (x.state.startsWith('idle in transaction') ? x.stateMs : 0)),
        );
        longestXact.set(
          labels,
          longest((x) => x.xactMs),
        );
        for (const r of rules) {
          if (r.name === 'connections' || !hasExclusions(r)) continue;
          ruleLongest.set(
            { ...labels, rule: r.name },
            longest((x) => (excluded(r, x) ? 0 : ruleMeasure(r, x))),
          );
        }
      }
      old.set({ datname }, s.rollout?.onOldSettings ?? 0);
      for (const c of s.config?.compliance ?? []) compliant.set({ datname, setting: c.setting, role: c.role }, c.compliant ? 1 : 0);
      for (const g of s.config?.settings ?? []) {
        let m = settingGauges.get(g.metric);
        if (!m)
          settingGauges.set(g.metric, (m = gauge(g.metric, `Server Parameter: ${g.name} (the value a new session of the database gets).`)));
        m.set(g.value);
      }
      if (s.logErrors)
        for (const [sqlstate, n] of Object.entries({ '57014': 0, '25P03': 0, '53300': 0, ...s.logErrors }))
          logErrors.set({ datname, sqlstate }, n);
      poll.set(s.pollMs / 1000);
      for (const r of rules) {
        firing.set({ rule: r.name, severity: r.severity }, alerts.filter((a) => a.rule === r.name).length);
      }
    },
    event(e) {
      if (e.type === 'poll_failed' || e.type === 'connection_lost') dropAll();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The databases a sample describes: every one with --all-databases, else the monitored one. */
function databasesOf(s: Sample): { datname: string; datconnlimit: number; limit: number; total: number; stats: Record<string, number> }[] {
  if (s.databases) return s.databases;
  const c = s.connections;
  return [{ datname: s.database, datconnlimit: c.datconnlimit, limit: c.limit, total: c.total, stats: s.stats }];
}
