import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { policyFile, runCli, skipWithout, tempDir } from './helpers.js';

/**
 * `promtool test rules` on the exported rules: synthetic series in, alerts out, on Prometheus's
 * own evaluator (no database, no wall clock). Skipped only where promtool is absent (.ci/run
 * installs Debian's prometheus package, which ships it).
 */
const promtool = (() => {
  try {
    return execFileSync('sh', ['-c', 'command -v promtool']).toString().trim() || null;
  } catch {
    return null;
  }
})();

const run = (args: string[], cwd: string) =>
  new Promise<{ code: number; out: string }>((resolve) => {
    execFile(promtool!, args, { cwd }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });

describe.skipIf(skipWithout(Boolean(promtool)))('promtool test rules on pgharden alerts export', () => {
  it('long_query warning/critical fire at their thresholds for client backends only; connections waits its for:', async () => {
    const dir = await tempDir('pgharden-promtool-');
    const policy = await policyFile(`
alerts:
  long_query:  { warning: 20s, critical: 25s, exclude: { application: "pg_dump" } }
  connections: { over: 80%, severity: info, for: 2m }
`);
    for (const source of ['pgharden', 'postgres_exporter']) {
      const rules = path.join(dir, `${source}.yml`);
      const out = await runCli(['alerts', 'export', '--format', 'prometheus-rules', '--metrics', source, '--policy', policy, '-o', rules]);
      expect(out.code, out.stderr).toBe(0);
      // promtool compares annotations too; they are template text, checked by promtool check rules in the e2e test. Here: expr, for, labels.
      const doc = YAML.parse(await fs.readFile(rules, 'utf8'));
      for (const r of doc.groups[0].rules) delete r.annotations;
      await fs.writeFile(rules, YAML.stringify(doc));
    }
    // A query whose age grows 10 s per minute-step: 0, 10, 20(.5), 30 … and an autovacuum worker that is always old.
    await fs.writeFile(
      path.join(dir, 'pgharden-test.yml'),
      `
rule_files: [pgharden.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'pgharden_rule_longest_seconds{datname="app",rule="long_query",backend_type="client backend"}'
        values: '0 10 20.5 30'
      - series: 'pgharden_connections_used_ratio{datname="app"}'
        values: '0.9 0.9 0.9 0.9'
    alert_rule_test:
      - { eval_time: 1m, alertname: PostgresLongRunningQuery, exp_alerts: [] }
      - eval_time: 2m
        alertname: PostgresLongRunningQuery
        exp_alerts:
          - exp_labels: { severity: warning, pgharden_rule: long_query, datname: app, rule: long_query, backend_type: client backend }
      - eval_time: 3m
        alertname: PostgresLongRunningQuery
        exp_alerts:
          - exp_labels: { severity: warning, pgharden_rule: long_query, datname: app, rule: long_query, backend_type: client backend }
          - exp_labels: { severity: critical, pgharden_rule: long_query, datname: app, rule: long_query, backend_type: client backend }
      - { eval_time: 1m, alertname: PostgresConnectionsNearLimit, exp_alerts: [] }
      - eval_time: 3m
        alertname: PostgresConnectionsNearLimit
        exp_alerts:
          - exp_labels: { severity: info, pgharden_rule: connections, datname: app }
`,
    );
    await fs.writeFile(
      path.join(dir, 'exporter-test.yml'),
      `
rule_files: [postgres_exporter.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'pg_stat_activity_max_tx_duration{instance="db:9187",datname="app",state="active",usename="app",application_name="api",backend_type="client backend",wait_event_type="",wait_event=""}'
        values: '0 30'
      - series: 'pg_stat_activity_max_tx_duration{instance="db:9187",datname="app",state="active",usename="app",application_name="pg_dump",backend_type="client backend",wait_event_type="",wait_event=""}'
        values: '600 600'
      - series: 'pg_stat_activity_max_tx_duration{instance="db:9187",datname="app",state="active",usename="postgres",application_name="",backend_type="autovacuum worker",wait_event_type="",wait_event=""}'
        values: '900 900'
    alert_rule_test:
      # an old pg_dump (excluded) and an old autovacuum worker (not a client backend) fire nothing
      - { eval_time: 0m, alertname: PostgresLongRunningQuery, exp_alerts: [] }
      - eval_time: 1m
        alertname: PostgresLongRunningQuery
        exp_alerts:
          - exp_labels: { severity: warning, pgharden_rule: long_query, instance: "db:9187", datname: app, state: active, backend_type: client backend }
          - exp_labels: { severity: critical, pgharden_rule: long_query, instance: "db:9187", datname: app, state: active, backend_type: client backend }
`,
    );
    for (const file of ['pgharden-test.yml', 'exporter-test.yml']) {
      const r = await run(['test', 'rules', file], dir);
      expect(r.code, r.out).toBe(0);
      expect(r.out).toMatch(/SUCCESS/);
    }
    await fs.rm(dir, { recursive: true, force: true });
  }, 60_000);
});
