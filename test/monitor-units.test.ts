import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { freePort } from '../src/pg/embedded.js';
import { AlertEngine, type AlertTransition } from '../src/monitor/engine.js';
import { rulesFromPolicy } from '../src/monitor/rules.js';
import type { Sample, SessionSample } from '../src/monitor/sample.js';
import { parsePolicy } from '../src/policy/parse.js';
import { parseListen } from '../src/monitor/sinks/prometheus.js';
import { webhookSink } from '../src/monitor/sinks/webhook.js';
import { runCli } from './helpers.js';
import { MONITOR_POLICY, monitorPolicy } from './monitor-helpers.js';

const transition = (state: 'firing' | 'resolved'): AlertTransition => ({
  type: 'alert',
  state,
  rule: 'long_query',
  severity: 'critical',
  database: 'codex_memory',
  key: 'long_query:42:2026-01-01T00:00:00.000Z',
  value: 26_000,
  threshold: 25_000,
  message: 'pid 42 query running for 26s, over 25s',
  pid: 42,
  since: '2026-01-01T00:00:30.000Z',
  at: '2026-01-01T00:00:30.000Z',
});

/** A sample as the sampler would return it: `total` connections of a limit of 10, and these sessions. */
function fakeSample(at: number, total: number, sessions: Partial<SessionSample>[] = []): Sample {
  return {
    database: 'codex_memory',
    scope: 'database',
    at: new Date(at * 1000).toISOString(),
    pollMs: 1,
    myPid: 1,
    connections: { total, byState: { idle: total }, maxTxMsByState: {}, datconnlimit: 10, limit: 10, limitSource: 'datconnlimit' },
    longestActiveMs: 0,
    longestIdleInTransactionMs: 0,
    longestTransactionMs: 0,
    activity: [],
    rollout: null,
    stats: {},
    sessions: sessions.map((s) => ({
      pid: 7,
      datname: 'codex_memory',
      blockedBy: [],
      backendStart: '2026-01-01T00:00:00.000Z',
      usename: 'app',
      applicationName: 'api',
      clientAddr: null,
      state: 'active',
      waitEvent: null,
      queryMs: null,
      stateMs: 0,
      xactMs: null,
      onOldSettings: false,
      query: 'SELECT 1',
      ...s,
    })),
  };
}

describe('monitor without a database', () => {
  it('alert lifecycle: fires once, stays quiet while it holds, resolves once; connections resolve 5 points under the threshold', () => {
    const engine = new AlertEngine(rulesFromPolicy(parsePolicy(MONITOR_POLICY, 'test').alerts));
    const states = (ts: AlertTransition[]) => ts.map((t) => `${t.state} ${t.rule}${t.pid ? ` ${t.pid}` : ''}`);
    expect(states(engine.update(fakeSample(0, 5, [{ queryMs: 1_900 }])))).toEqual([]);
    expect(states(engine.update(fakeSample(1, 9, [{ queryMs: 2_100 }])))).toEqual(['firing long_query 7', 'firing connections']);
    expect(states(engine.update(fakeSample(2, 9, [{ queryMs: 3_100 }])))).toEqual([]);
    expect(engine.firing().map((a) => a.rule)).toEqual(['long_query', 'connections']); // most severe first
    // 8 of 10 is not over 80 %, but within the 5-point margin: still firing, no flapping.
    expect(states(engine.update(fakeSample(3, 8, [{ queryMs: 4_100 }])))).toEqual([]);
    expect(engine.firing().find((a) => a.rule === 'connections')!.message).toMatch(/no longer over 80%, resolves at 75%/);
    // The query ended; a new session reuses pid 7: it is another session, so its alert is another one.
    expect(states(engine.update(fakeSample(4, 7, [])))).toEqual(['resolved long_query 7', 'resolved connections']);
    expect(states(engine.update(fakeSample(5, 7, [{ queryMs: 2_500, backendStart: '2026-01-01T00:00:04.000Z' }])))).toEqual([
      'firing long_query 7',
    ]);
    expect(states(engine.update(fakeSample(6, 7, [{ state: 'idle in transaction', stateMs: 1_200 }])))).toEqual([
      'resolved long_query 7',
      'firing idle_in_transaction 7',
    ]);
  });

  it('--webhook retries a failing endpoint with backoff, in order, without blocking the caller', async () => {
    const received: { state: string; target: string; database: string }[] = [];
    let calls = 0;
    const order: string[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req
        .on('data', (d) => (body += d))
        .on('end', () => {
          calls++;
          order.push('request');
          if (calls <= 2) return res.writeHead(503).end(); // down twice, then up
          received.push(JSON.parse(body));
          res.writeHead(204).end();
        });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const warnings: string[] = [];
    const sink = webhookSink(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, {
      backoffMs: 50,
      onWarning: (m) => warnings.push(m),
      source: 'postgres://monitor@db:5432/codex_memory',
      contacts: { on_call: '+1 555 0100' },
    });
    // Queued, not sent inline: the caller gets nothing to wait for and carries on before any
    // request reaches the endpoint (an order of events, not a wall-clock bound a loaded host breaks).
    expect(sink.transition!(transition('firing'))).toBeUndefined();
    expect(sink.transition!(transition('resolved'))).toBeUndefined();
    order.push('caller continued');
    for (let i = 0; i < 1500 && received.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    await sink.close!();
    server.close();
    expect(received.map((r) => r.state)).toEqual(['firing', 'resolved']);
    expect(received[0]).toMatchObject({
      target: 'postgres://monitor@db:5432/codex_memory',
      database: 'codex_memory',
      contacts: { on_call: '+1 555 0100' },
    });
    expect(calls).toBe(4);
    expect(order[0]).toBe('caller continued');
    expect(warnings).toEqual([]);
  });

  it('alerts export --format prometheus-rules: the policy thresholds as a rules file, for both metric sources', async () => {
    const policy = await monitorPolicy();
    const out = await runCli(['alerts', 'export', '--format', 'prometheus-rules', '--policy', policy]);
    expect(out.code, out.stderr).toBe(0);
    const rules = YAML.parse(out.stdout).groups[0].rules;
    expect(rules.map((r: { alert: string; expr: string; labels: { severity: string } }) => [r.alert, r.expr, r.labels.severity])).toEqual([
      ['PostgresLongRunningQuery', 'pgharden_longest_active_query_seconds{backend_type="client backend"} > 2', 'critical'],
      ['PostgresIdleInTransaction', 'pgharden_longest_idle_in_transaction_seconds{backend_type="client backend"} > 1', 'warning'],
      ['PostgresConnectionsNearLimit', 'pgharden_connections_used_ratio > 0.8', 'info'],
    ]);
    // for: defaults: 0s for the duration rules (their threshold is already a duration), 1m for connections
    expect(rules.map((r: { for: string }) => r.for)).toEqual(['0s', '0s', '60s']);
    const exporter = await runCli(['alerts', 'export', '--format', 'prometheus-rules', '--metrics', 'postgres_exporter']);
    expect(YAML.parse(exporter.stdout).groups[0].rules[0].expr).toBe(
      'max without (usename, application_name, wait_event_type, wait_event) (pg_stat_activity_max_tx_duration{state="active",backend_type="client backend"}) > 25',
    );
    expect((await runCli(['alerts', 'export', '--format', 'nagios'])).code).toBe(2);
  });

  it('bad monitor flags are usage errors (exit 2) before any connection', async () => {
    const db = `postgres://nobody@127.0.0.1:${await freePort()}/x`;
    const cases: [string[], RegExp][] = [
      [['--jsonl', '/nonexistent-dir/out.jsonl'], /--jsonl .*cannot open/],
      [['--prometheus', 'localhost:http'], /expected \[HOST:\]PORT/],
      [['--webhook', 'ftp://example.com/x'], /only http/],
      [['--interval', '10ms'], /at least 100ms/],
      [['--interval', 'often'], /not a duration/],
    ];
    for (const [flags, message] of cases) {
      const r = await runCli(['monitor', '--db', db, ...flags]);
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it('--prometheus accepts PORT, HOST:PORT and [IPv6]:PORT, binding 127.0.0.1 by default', () => {
    expect(parseListen('9187')).toEqual({ host: '127.0.0.1', port: 9187 });
    expect(parseListen(':9187')).toEqual({ host: '127.0.0.1', port: 9187 });
    expect(parseListen('0.0.0.0:9187')).toEqual({ host: '0.0.0.0', port: 9187 });
    expect(parseListen('[::1]:9187')).toEqual({ host: '::1', port: 9187 });
    expect(() => parseListen('70000')).toThrow(/PORT/);
  });
});
