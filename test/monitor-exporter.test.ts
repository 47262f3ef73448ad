import { describe, expect, it } from 'vitest';
import { freePort } from '../src/pg/embedded.js';
import { rulesFromPolicy } from '../src/monitor/rules.js';
import { parsePolicy } from '../src/policy/parse.js';
import { policyFile, runCli, sql, TEST_POLICY, testServers, uniqueName, urlFor, withTestDatabase } from './helpers.js';
import { droppingProxy, inStateFor, session, startMonitor } from './monitor-helpers.js';

describe('alert tuning in the policy', () => {
  it('warning + critical levels, for:, exclusions and transaction_age; the runbook shapes stay valid', () => {
    const p = parsePolicy(
      `
alerts:
  long_query: { warning: 20s, critical: 25s, exclude: { application: "pg_dump|backup.*", user: replicator } }
  connections: { over: 80%, severity: info, for: 2m }
  transaction_age: { over: 5m, severity: warning }
`,
      'test',
    );
    const rules = rulesFromPolicy(p.alerts);
    expect(rules.map((r) => [r.name, r.severity, r.over, r.for])).toEqual([
      ['long_query', 'warning', 20_000, 0],
      ['long_query', 'critical', 25_000, 0],
      ['idle_in_transaction', 'warning', 50_000, 0],
      ['connections', 'info', 0.8, 120_000],
      ['transaction_age', 'warning', 300_000, 0],
    ]);
    expect(p.alerts.long_query).toMatchObject({ over: 25_000, severity: 'critical' }); // code reading one threshold sees the critical one
    expect(() => parsePolicy('alerts: { long_query: { over: 25s, warning: 20s } }', 'test')).toThrow(/either over/);
    expect(() => parsePolicy('alerts: { long_query: { warning: 20s, exclude: { user: "(" } } }', 'test')).toThrow(/regular expression/);
    expect(rulesFromPolicy(parsePolicy('{}', 'test').alerts).map((r) => r.name)).toEqual([
      'long_query',
      'idle_in_transaction',
      'connections',
    ]);
  });
});

describe.each(testServers())('monitor as an exporter on $name PostgreSQL', (server) => {
  it('while the server cannot be reached, /metrics serves pg_up 0 and nothing else (no frozen gauges)', async () => {
    await withTestDatabase(server, uniqueName('mon_down'), async (db) => {
      const proxy = await droppingProxy(server);
      const url = new URL(urlFor(server, db));
      url.port = String(proxy.port);
      const port = await freePort();
      const monitor = startMonitor(['--db', url.toString(), '--interval', '200ms', '--prometheus', `127.0.0.1:${port}`]);
      let closed = false;
      try {
        await monitor.waitFor((r) => r.type === 'sample', 30_000, 'a first sample');
        expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toMatch(/^pg_stat_activity_count\{/m);
        await proxy.close(); // the server is gone: the session drops and reconnects are refused
        closed = true;
        await monitor.waitFor((r) => r.type === 'poll_failed' || r.type === 'connection_lost', 30_000, 'the loss');
        const body = (await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).split('\n').filter((l) => l && !l.startsWith('#'));
        expect(body).toEqual(['pg_up 0']);
      } finally {
        await monitor.stop();
        if (!closed) await proxy.close();
      }
    });
  }, 60_000);

  it('--once --rule with -w/-c judges one rule; --unreachable critical makes a down server CRITICAL', async () => {
    await withTestDatabase(server, uniqueName('mon_rule'), async (db) => {
      const base = ['monitor', '--once', '--db', urlFor(server, db)];
      const idle = await session(server, db);
      try {
        await idle.query('BEGIN');
        await idle.query('SELECT 1');
        await inStateFor(server, idle.pid, 1_500);
        // idle 1.5 s: under the runbook's 50 s, over a 1 s warning, under a 60 s critical
        const warn = await runCli([...base, '--rule', 'idle_in_transaction', '-w', '1s', '-c', '60s']);
        expect(warn.code, warn.stdout).toBe(1);
        expect(warn.stdout).toMatch(
          /^PGHARDEN WARNING - warning: pid \d+ .*idle in transaction .*\| longest_idle_in_transaction=[\d.]+s;1;60;0\n$/,
        );
        const crit = await runCli([...base, '--rule', 'idle_in_transaction', '-c', '1s']);
        expect(crit.code, crit.stdout).toBe(2);
        // the other rules are not judged: the long_query rule has nothing to say here, and is absent from perfdata
        const other = await runCli([...base, '--rule', 'long_query']);
        expect(other.code, other.stdout).toBe(0);
        expect(other.stdout).not.toContain('idle_in_transaction');
        // transaction_age (xact_start) sees the same open transaction
        const age = await runCli([
          ...base,
          '--rule',
          'transaction_age',
          '-w',
          '1s',
          '--policy',
          await policyFile('alerts: { transaction_age: { over: 5m, severity: warning } }'),
        ]);
        expect(age.code, age.stdout).toBe(1);
        expect(age.stdout).toMatch(/transaction open for/);
      } finally {
        await idle.end();
      }
      expect((await runCli([...base, '-w', '1s'])).stdout).toMatch(/^PGHARDEN UNKNOWN - .*need --rule/);
      const down = `postgres://nobody@127.0.0.1:${await freePort()}/x`;
      const unknown = await runCli(['monitor', '--once', '--db', down]);
      expect(unknown.code).toBe(3);
      const critical = await runCli(['monitor', '--once', '--db', down, '--unreachable', 'critical']);
      expect(critical.code).toBe(2);
      expect(critical.stdout).toMatch(/^PGHARDEN CRITICAL - cannot connect/);
    });
  }, 90_000);

  it('exclusions: a session of an excluded application never fires long_query', async () => {
    await withTestDatabase(server, uniqueName('mon_excl'), async (db) => {
      const policy = await policyFile(
        'alerts: { long_query: { over: 1s, severity: critical, exclude: { application: "pg_dump|backup.*" } } }',
      );
      const backup = await session(server, db, 'backup-nightly');
      const app = await session(server, db, 'search-api');
      try {
        // long sleeps, cancelled below: how long a CLI takes to start on a loaded machine must not matter
        const a = backup.query('SELECT pg_sleep(60)').catch(() => undefined);
        const b = app.query('SELECT pg_sleep(60)').catch(() => undefined);
        await inStateFor(server, backup.pid, 1_200);
        await inStateFor(server, app.pid, 1_200);
        const r = await runCli(['monitor', '--once', '--json', '--db', urlFor(server, db), '--policy', policy]);
        expect(r.code, r.stdout).toBe(2);
        expect(r.json.alerts.map((x: { pid: number }) => x.pid)).toEqual([app.pid]);
        await sql(server, 'SELECT pg_cancel_backend(pid) FROM unnest($1::int[]) pid', [[backup.pid, app.pid]]);
        await Promise.all([a, b]);
      } finally {
        await backup.end();
        await app.end();
      }
    });
  }, 60_000);

  it('diagnose: a query past the statement_timeout is said not to have the limit, naming the role override', async () => {
    await withTestDatabase(server, uniqueName('mon_diag'), async (db) => {
      const role = uniqueName('batch');
      await sql(server, `CREATE ROLE ${role} LOGIN PASSWORD 'diag-test'`);
      try {
        await sql(server, `ALTER DATABASE ${db} SET statement_timeout = '1s'`);
        await sql(server, `ALTER ROLE ${role} IN DATABASE ${db} SET statement_timeout = 0`);
        const pg = await import('pg');
        const u = new URL(urlFor(server, db));
        u.username = role;
        u.password = 'diag-test';
        const client = new pg.default.Client({ connectionString: u.toString() });
        client.on('error', () => undefined);
        await client.connect();
        try {
          const pid = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
          const q = client.query('SELECT pg_sleep(60)').catch(() => undefined);
          await inStateFor(server, pid, 1_300);
          const r = await runCli(['diagnose', '--db', urlFor(server, db), '--json']);
          const near = r.json.findings.find((x: { code: string }) => x.code === 'queries-near-timeout');
          const f = r.json.findings.find((x: { code: string }) => x.code === 'sessions-without-limit');
          expect(near.sessions).toEqual([]); // past the timeout is not "near" it
          expect(f.problem).toBe(true);
          expect(f.summary).toMatch(/that session does not have the limit/);
          expect(f.sessions[0].noLimitCause).toBe('role-override');
          expect(f.sessions[0].noLimit).toMatch(
            new RegExp(`role override: ALTER ROLE ${role} IN DATABASE ${db} SET statement_timeout = '0'`),
          );
          await sql(server, `SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [role]);
          await q;
        } finally {
          await client.end();
        }
      } finally {
        await sql(server, `DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
      }
    });
  }, 60_000);

  it('diagnose: a query past a 2s statement_timeout in a session from before the apply is not "near the timeout": it has no limit, started before the apply', async () => {
    await withTestDatabase(server, uniqueName('mon_diag_old'), async (db) => {
      const old = await session(server, db, 'app-old');
      try {
        const policy = await policyFile(TEST_POLICY);
        const applied = await runCli(['apply', '--db', urlFor(server, db), '--policy', policy]);
        expect(applied.code, applied.stderr).toBe(0);
        const running = old.query('SELECT pg_sleep(60)').catch((e) => e);
        await inStateFor(server, old.pid, 2_500); // past the 2s the apply set
        const r = await runCli(['diagnose', '--db', urlFor(server, db), '--policy', policy]);
        const j = await runCli(['diagnose', '--db', urlFor(server, db), '--policy', policy, '--json']);
        await sql(server, 'SELECT pg_cancel_backend($1)', [old.pid]);
        expect((await running).code).toBe('57014');
        expect(j.code).toBe(1);
        const byCode = Object.fromEntries(j.json.findings.map((f: { code: string }) => [f.code, f]));
        expect(byCode['queries-near-timeout'].sessions).toEqual([]);
        expect(byCode['sessions-without-limit'].sessions).toMatchObject([{ pid: old.pid, noLimitCause: 'before-apply' }]);
        expect(byCode['sessions-without-limit'].sessions[0].noLimit).toMatch(/backend_start .* < applied /);
        expect(r.stderr + r.stdout).toMatch(new RegExp(`pid ${old.pid} does not have the statement_timeout: started before the apply`));
        expect(r.stderr + r.stdout).not.toMatch(/1 active query running for .* or more \(near/);
      } finally {
        await old.end().catch(() => undefined);
      }
    });
  }, 60_000);
});
