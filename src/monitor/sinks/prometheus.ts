import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gauge, Registry } from 'prom-client';
import { UsageError } from '../../errors.js';
import type { AlertRule } from '../rules.js';
import type { Sink } from './sink.js';

/** The states postgres_exporter always reports (0 when none), so series never vanish. */
const STATES = ['active', 'idle', 'idle in transaction', 'idle in transaction (aborted)', 'fastpath function call', 'disabled'];

/** `9187`, `:9187`, `0.0.0.0:9187`, `[::1]:9187` → host and port (default host 127.0.0.1: not exposed by accident). */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:(?:\[([^\]]+)\]|([^:[\]]*)):)?(\d+)$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port > 65535) {
    throw new UsageError(`--prometheus ${JSON.stringify(text)}: expected [HOST:]PORT, e.g. 9187 or 0.0.0.0:9187`);
  }
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

export interface PrometheusSink extends Sink {
  /** Where /metrics is served, e.g. http://127.0.0.1:9187/metrics. */
  url: string;
}

/**
 * --prometheus HOST:PORT: /metrics in the text exposition format, via prom-client on a
 * registry of its own. Names follow postgres_exporter where they overlap, so existing
 * dashboards and rules work; what it lacks is prefixed `pgharden_`.
 */
export async function prometheusSink(listen: string, rules: AlertRule[]): Promise<PrometheusSink> {
  const { host, port } = parseListen(listen);
  const registry = new Registry();
  const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers: [registry] });

  const up = gauge('pg_up', 'Whether the last poll of the database succeeded (1) or not (0).');
  const activity = gauge('pg_stat_activity_count', 'Client connections to the database by state.', ['datname', 'state']);
  const maxTx = gauge('pg_stat_activity_max_tx_duration', 'Longest open transaction by state, in seconds.', ['datname', 'state']);
  const datLimit = gauge('pg_database_connection_limit', 'pg_database.datconnlimit (-1: no database limit).', ['datname']);
  const limit = gauge('pgharden_connection_limit', 'The connection limit that applies: datconnlimit, or max_connections minus reserved slots.', ['datname']);
  const used = gauge('pgharden_connections_used_ratio', 'Client connections divided by pgharden_connection_limit.', ['datname']);
  const longestQuery = gauge('pgharden_longest_active_query_seconds', 'Longest running active query (now() - query_start), in seconds.', ['datname']);
  const longestIdle = gauge('pgharden_longest_idle_in_transaction_seconds', 'Longest idle-in-transaction time (now() - state_change), in seconds.', ['datname']);
  const old = gauge('pgharden_sessions_on_old_settings', 'Sessions that began before the latest apply and still run on the old settings.', ['datname']);
  const firing = gauge('pgharden_alert_firing', 'Alerts firing now, per rule (sessions or conditions).', ['rule', 'severity']);
  const threshold = gauge('pgharden_alert_threshold', 'Alert thresholds from the policy: seconds, or a ratio for connections.', ['rule', 'severity']);
  const poll = gauge('pgharden_poll_duration_seconds', 'Round-trip time of the last poll, in seconds.');

  for (const r of rules) {
    threshold.set({ rule: r.name, severity: r.severity }, r.name === 'connections' ? r.over : r.over / 1000);
    firing.set({ rule: r.name, severity: r.severity }, 0);
  }
  up.set(0);

  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || !req.url?.startsWith('/metrics')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('pgharden monitor: see /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err) => res.writeHead(500).end(String(err)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new UsageError(`--prometheus ${listen}: cannot listen on ${host}:${port}: ${err.message}`)));
    server.listen(port, host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  const shownHost = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;

  return {
    url: `http://${shownHost}:${bound.port}/metrics`,
    sample(s, alerts) {
      const datname = s.database;
      up.set(1);
      activity.reset();
      maxTx.reset();
      for (const state of new Set([...STATES, ...Object.keys(s.connections.byState)])) {
        activity.set({ datname, state }, s.connections.byState[state] ?? 0);
        maxTx.set({ datname, state }, (s.connections.maxTxMsByState[state] ?? 0) / 1000);
      }
      datLimit.set({ datname }, s.connections.datconnlimit);
      limit.set({ datname }, s.connections.limit);
      used.set({ datname }, s.connections.limit > 0 ? s.connections.total / s.connections.limit : 1);
      longestQuery.set({ datname }, s.longestActiveMs / 1000);
      longestIdle.set({ datname }, s.longestIdleInTransactionMs / 1000);
      old.set({ datname }, s.rollout?.onOldSettings ?? 0);
      poll.set(s.pollMs / 1000);
      for (const r of rules) {
        firing.set({ rule: r.name, severity: r.severity }, alerts.filter((a) => a.rule === r.name).length);
      }
    },
    event(e) {
      if (e.type === 'poll_failed' || e.type === 'connection_lost') up.set(0);
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
