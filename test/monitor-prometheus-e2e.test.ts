import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/pg/embedded.js';
import { CLI, policyFile, runCli, skipWithout, sql, tempDir, testServers, uniqueName, urlFor } from './helpers.js';
import { session } from './monitor-helpers.js';

/**
 * pgharden's endpoint and exported rules against a Prometheus and an Alertmanager that no one
 * here wrote (Debian's prometheus and prometheus-alertmanager; .ci/run installs them): a
 * query past long_query arrives at a webhook receiver as firing, its end as resolved, and a
 * role override is found with PromQL. Skipped only where the binaries are absent.
 */
const which = (bin: string) => {
  try {
    return (
      execFileSync('sh', ['-c', `command -v ${bin}`])
        .toString()
        .trim() || null
    );
  } catch {
    return null;
  }
};
const PROMETHEUS = which('prometheus');
const ALERTMANAGER = which('prometheus-alertmanager') ?? which('alertmanager');
const PROMTOOL = which('promtool');
const skipProm = skipWithout(Boolean(PROMETHEUS && ALERTMANAGER));

// One server (the system one when CI names it, else the embedded one): the subject is the Prometheus side.
const server = testServers().at(-1)!;
const THRESHOLD_S = 2;

interface Delivery {
  at: number;
  body: any;
}

function start(bin: string, args: string[], dir: string): ChildProcess & { log: () => string } {
  let log = '';
  const child = spawn(bin, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  return Object.assign(child, { log: () => log });
}

/** Poll `probe` until it returns a value (bounded: an event we wait for, not a timing we assert). */
async function until<T>(probe: () => Promise<T | null | undefined>, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await probe();
      if (v !== null && v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

describe.skipIf(skipProm)('a real Prometheus and Alertmanager on pgharden monitor --prometheus', () => {
  const db = uniqueName('mon_prom');
  const role = uniqueName('override_role');
  const procs: (ChildProcess & { log: () => string })[] = [];
  const deliveries: Delivery[] = [];
  let receiver: http.Server;
  let dir: string;
  let promUrl: string;
  let rulesFile: string;
  let policy: string;

  const query = async (promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { status: string; data: { result: any[] }; error?: string };
    if (body.status !== 'success') throw new Error(`${promql}: ${body.error}`);
    return body.data.result;
  };

  beforeAll(async () => {
    dir = await tempDir('pgharden-prom-');
    await sql(server, `CREATE DATABASE ${db}`);
    await sql(server, `ALTER DATABASE ${db} SET statement_timeout = '30s'`);
    await sql(server, `CREATE ROLE ${role} LOGIN`);
    await sql(server, `ALTER ROLE ${role} IN DATABASE ${db} SET statement_timeout = 0`); // the override that defeats the hardening

    policy = await policyFile(`
settings:
  statement_timeout: 30s
alerts:
  long_query:          { over: ${THRESHOLD_S}s, severity: critical }
  idle_in_transaction: { over: 50s, severity: warning }
  connections:         { over: 80%, severity: info }
`);
    rulesFile = path.join(dir, 'rules.yml');
    const exported = await runCli(['alerts', 'export', '--format', 'prometheus-rules', '--policy', policy, '-o', rulesFile]);
    expect(exported.code, exported.stderr).toBe(0);

    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        deliveries.push({ at: Date.now(), body: JSON.parse(body) });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const receiverPort = (receiver.address() as { port: number }).port;

    const [monPort, amPort, promPort] = [await freePort(), await freePort(), await freePort()];
    await fs.writeFile(
      path.join(dir, 'am.yml'),
      `
route: { receiver: test, group_by: [alertname, datname, severity], group_wait: 0s, group_interval: 1s, repeat_interval: 1h }
receivers:
  - name: test
    webhook_configs: [{ url: 'http://127.0.0.1:${receiverPort}/', send_resolved: true }]
`,
    );
    await fs.writeFile(
      path.join(dir, 'prom.yml'),
      `
global: { scrape_interval: 1s, evaluation_interval: 1s }
rule_files: ['${rulesFile}']
alerting: { alertmanagers: [{ static_configs: [{ targets: ['127.0.0.1:${amPort}'] }] }] }
scrape_configs:
  - job_name: pgharden
    static_configs: [{ targets: ['127.0.0.1:${monPort}'] }]
`,
    );
    procs.push(
      start(
        ALERTMANAGER!,
        [
          `--config.file=${dir}/am.yml`,
          `--storage.path=${dir}/am`,
          `--web.listen-address=127.0.0.1:${amPort}`,
          '--cluster.listen-address=',
        ],
        dir,
      ),
    );
    procs.push(
      start(
        PROMETHEUS!,
        [`--config.file=${dir}/prom.yml`, `--storage.tsdb.path=${dir}/prom`, `--web.listen-address=127.0.0.1:${promPort}`],
        dir,
      ),
    );
    procs.push(
      start(
        process.execPath,
        [
          CLI,
          'monitor',
          '--db',
          urlFor(server, db),
          '--policy',
          policy,
          '--prometheus',
          `127.0.0.1:${monPort}`,
          '--plain',
          '--interval',
          '500ms',
          '--refresh',
          '1s',
        ],
        dir,
      ),
    );
    promUrl = `http://127.0.0.1:${promPort}`;
    await until(
      async () => (await query(`up{job="pgharden"} == 1`)).length > 0 && (await query(`pg_up == 1`)).length > 0,
      30_000,
      `Prometheus scraping the monitor\n${procs.map((p) => p.log().slice(-1500)).join('\n---\n')}`,
    );
  }, 60_000);

  afterAll(async () => {
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => (p.exitCode !== null ? null : new Promise((r) => p.once('exit', r)))));
    await new Promise((r) => receiver?.close(r));
    await sql(server, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await sql(server, `DROP ROLE IF EXISTS ${role}`);
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  }, 30_000);

  it('exported rules pass promtool check rules', () => {
    if (!PROMTOOL) return;
    const out = execFileSync(PROMTOOL, ['check', 'rules', rulesFile]).toString();
    expect(out).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('exporter labels hold for queries, and the monitor does not count itself', async () => {
    const rows = await query(`sum by (usename, backend_type) (pg_stat_activity_count{datname="${db}"})`);
    expect(rows.length).toBeGreaterThan(0);
    // At rest the only client backend of the database is the monitor's own session: excluded, as postgres_exporter excludes its own.
    // (every state has a zero series, as the exporter's, so the sum exists and is 0, not absent)
    const active = await query(`sum(pg_stat_activity_count{datname="${db}",state="active"})`);
    expect(active.length).toBe(1);
    expect(Number(active[0].value[1])).toBe(0);
    const settings = await until(
      async () => {
        const r = await query('pg_settings_statement_timeout_seconds');
        return r.length ? r : null;
      },
      15_000,
      'pg_settings_statement_timeout_seconds',
    );
    expect(Number(settings[0].value[1])).toBe(30);
    expect(Number((await query('pg_settings_max_connections'))[0].value[1])).toBeGreaterThan(0);
  });

  it('a role override shows as pgharden_policy_compliant == 0 for that role only', async () => {
    const bad = await until(
      async () => {
        const r = await query(`pgharden_policy_compliant{setting="statement_timeout"} == 0`);
        return r.length ? r : null;
      },
      15_000,
      'pgharden_policy_compliant == 0',
    );
    expect(bad.map((r) => r.metric.role)).toContain(role);
    expect(bad.map((r) => r.metric.role)).not.toContain('postgres');
    expect((await query(`pgharden_policy_compliant{setting="statement_timeout",role="postgres"} == 1`)).length).toBe(1);
  });

  it('a query past long_query reaches the receiver as firing through Alertmanager, and its end as resolved', async () => {
    const client = await session(server, db, 'nightly-report');
    try {
      const sentAt = Date.now();
      const sleeping = client.query(`SELECT pg_sleep(${THRESHOLD_S + 6})`);
      const crossedAt = sentAt + THRESHOLD_S * 1000; // the query started at or after sentAt: a bound from above on the latency
      const alertOf = (status: string) =>
        deliveries.find(
          (d) =>
            d.body.status === status &&
            d.body.alerts.some(
              (a: any) => a.labels.alertname === 'PostgresLongRunningQuery' && a.labels.datname === db && a.status === status,
            ),
        );
      const firing = await until(async () => alertOf('firing'), 30_000, 'the firing alert at the receiver');
      const endedAt = await sleeping.then(() => Date.now());
      const resolved = await until(async () => alertOf('resolved'), 30_000, 'the resolved alert at the receiver');

      const a = firing.body.alerts.find((x: any) => x.labels.alertname === 'PostgresLongRunningQuery');
      expect(a.labels).toMatchObject({ severity: 'critical', pgharden_rule: 'long_query', backend_type: 'client backend' });
      expect(firing.at).toBeGreaterThan(crossedAt - 1000); // not before the threshold (1 s of clock slack between client and server)
      expect(resolved.at).toBeGreaterThan(firing.at);
      process.stderr.write(
        `[prometheus e2e] threshold crossed → firing at the receiver: ${firing.at - crossedAt} ms; ` +
          `query ended → resolved at the receiver: ${resolved.at - endedAt} ms (monitor 500ms, scrape and evaluation 1s, group_wait 0s, group_interval 1s)\n`,
      );
    } finally {
      await client.end();
    }
  }, 60_000);
});
