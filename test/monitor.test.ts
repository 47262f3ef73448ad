import { describe, expect, it } from 'vitest';
import { freePort } from '../src/pg/embedded.js';
import { quoteIdent } from '../src/pg/quote.js';
import { TEST_POLICY, policyFile, runCli, sql, testServers, uniqueName, urlFor, withTestDatabase } from './helpers.js';
import { droppingProxy, inStateFor, isAlert, monitorPolicy, session, startMonitor } from './monitor-helpers.js';

const INTERVAL_MS = 200;

describe.each(testServers())('monitor on $name PostgreSQL', (server) => {
  it('a pg_sleep(4) past a 2 s threshold fires critical within one interval, once, and resolves when it ends', async () => {
    await withTestDatabase(server, uniqueName('mon_long'), async (db) => {
      const monitor = startMonitor(['--db', urlFor(server, db), '--policy', await monitorPolicy(), '--interval', `${INTERVAL_MS}ms`]);
      const sleeper = await session(server, db);
      try {
        await monitor.waitFor((r) => r.type === 'sample', 30_000, 'a first sample');
        const running = sleeper.query('SELECT pg_sleep(4)');
        const fired = await monitor.waitFor(isAlert('firing', 'long_query', sleeper.pid), 30_000, 'the long_query alert');
        expect(fired.severity).toBe('critical');
        // Within one interval: it fired at the first sample that saw the query past 2 s, and the sample before saw it under 2 s.
        // (Samples, not the clock: a loaded machine may run a poll late, but never skip one.)
        expect(fired.value).toBeGreaterThan(2_000);
        const samples = monitor.records.slice(0, monitor.records.indexOf(fired)).filter((r) => r.type === 'sample');
        expect(samples.at(-1)!.longestActiveMs).toBeGreaterThan(2_000);
        expect(samples.at(-2)!.longestActiveMs).toBeLessThanOrEqual(2_000);
        await running;
        const resolved = await monitor.waitFor(isAlert('resolved', 'long_query', sleeper.pid), 30_000, 'the resolution');
        expect(resolved.key).toBe(fired.key);
        expect(monitor.records.filter(isAlert('firing', 'long_query', sleeper.pid))).toHaveLength(1);
      } finally {
        await sleeper.end();
        expect(await monitor.stop()).toBe(0);
      }
    });
  });

  it('an idle-in-transaction session past 1 s fires the warning; --record keeps both transitions in pgharden.alerts', async () => {
    await withTestDatabase(server, uniqueName('mon_idle'), async (db) => {
      const monitor = startMonitor([
        '--db',
        urlFor(server, db),
        '--policy',
        await monitorPolicy(),
        '--interval',
        `${INTERVAL_MS}ms`,
        '--record',
      ]);
      const idle = await session(server, db);
      try {
        await idle.query('BEGIN');
        await idle.query('SELECT 1');
        const fired = await monitor.waitFor(isAlert('firing', 'idle_in_transaction', idle.pid), 30_000, 'the idle_in_transaction alert');
        expect(fired.severity).toBe('warning');
        expect(fired.value).toBeGreaterThan(1_000);
        await idle.query('COMMIT');
        await monitor.waitFor(isAlert('resolved', 'idle_in_transaction', idle.pid), 30_000, 'the resolution');
      } finally {
        await idle.end();
        await monitor.stop();
      }
      const rows = await sql<{ state: string; rule: string; severity: string; pid: number; database: string }>(
        server,
        'SELECT state, rule, severity, pid, database FROM pgharden.alerts ORDER BY id',
        [],
        db,
      );
      expect(rows).toEqual([
        { state: 'firing', rule: 'idle_in_transaction', severity: 'warning', pid: idle.pid, database: db },
        { state: 'resolved', rule: 'idle_in_transaction', severity: 'warning', pid: idle.pid, database: db },
      ]);
      const listed = await runCli(['alerts', 'list', '--db', urlFor(server, db), '--json']);
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.json.alerts.map((a: { state: string; pid: number }) => `${a.state} ${a.pid}`)).toEqual([
        `firing ${idle.pid}`,
        `resolved ${idle.pid}`,
      ]);
    });
  });

  it('connections past 80% of a limit of 10 fire the info alert, and resolve when they close', async () => {
    await withTestDatabase(server, uniqueName('mon_conn'), async (db) => {
      await sql(server, `ALTER DATABASE ${quoteIdent(db)} CONNECTION LIMIT 10`);
      const monitor = startMonitor(['--db', urlFor(server, db), '--policy', await monitorPolicy(), '--interval', `${INTERVAL_MS}ms`]);
      const first = await monitor.waitFor((r) => r.type === 'sample', 30_000, 'a first sample');
      expect(first.connections).toMatchObject({ limit: 10, limitSource: 'datconnlimit', total: 1 });
      // 8 more: 9 of 10 with the monitor's own session, past 80%.
      const clients = await Promise.all(Array.from({ length: 8 }, () => session(server, db)));
      try {
        const fired = await monitor.waitFor(isAlert('firing', 'connections'), 30_000, 'the connections alert');
        expect(fired.severity).toBe('info');
        expect(fired.value).toBeCloseTo(0.9);
      } finally {
        await Promise.all(clients.map((c) => c.end()));
      }
      await monitor.waitFor(isAlert('resolved', 'connections'), 30_000, 'the resolution');
      expect(monitor.records.filter(isAlert('firing', 'connections'))).toHaveLength(1);
      await monitor.stop();
    });
  });

  it('the monitor session terminated by the server (57P01): it says so, reconnects and carries on', async () => {
    await withTestDatabase(server, uniqueName('mon_57p01'), async (db) => {
      const monitor = startMonitor(['--db', urlFor(server, db), '--policy', await monitorPolicy(), '--interval', `${INTERVAL_MS}ms`]);
      try {
        const first = await monitor.waitFor((r) => r.type === 'sample', 30_000, 'a first sample');
        await sql(server, 'SELECT pg_terminate_backend($1)', [first.myPid]);
        const lost = await monitor.waitFor((r) => r.type === 'connection_lost', 30_000, 'the lost connection');
        expect(lost.code).toBe('57P01');
        await monitor.waitFor((r) => r.type === 'connected' && r.reconnected, 30_000, 'the reconnection');
        await monitor.waitFor((r) => r.type === 'sample' && r.myPid !== first.myPid, 30_000, 'a sample on the new session');
      } finally {
        expect(await monitor.stop()).toBe(0);
      }
    });
  });

  it('a role without pg_monitor: other roles\' sessions are counted as "unknown", raise no session alert, and the monitor says why', async () => {
    const role = uniqueName('mon_unprivileged');
    await sql(server, `CREATE ROLE ${role} LOGIN PASSWORD 'monitor-test'`);
    try {
      await withTestDatabase(server, uniqueName('mon_priv'), async (db) => {
        const idle = await session(server, db);
        await idle.query('BEGIN');
        await idle.query('SELECT 1');
        const url = new URL(urlFor(server, db));
        url.username = role;
        url.password = 'monitor-test';
        const monitor = startMonitor(['--db', url.toString(), '--policy', await monitorPolicy(), '--interval', `${INTERVAL_MS}ms`]);
        try {
          const warning = await monitor.waitFor((r) => r.type === 'warning', 30_000, 'the privilege warning');
          expect(warning.message).toMatch(/pg_monitor or pg_read_all_stats/);
          const sample = await monitor.waitFor(
            (r) => r.type === 'sample' && r.connections.total === 2,
            5_000,
            'a sample counting both sessions',
          );
          expect(sample.connections.byState).toEqual({ unknown: 1 }); // the monitor's own session is not counted by state
          await new Promise((r) => setTimeout(r, 1_500));
          expect(monitor.records.filter((r) => r.type === 'alert')).toEqual([]);
        } finally {
          await idle.end();
          await monitor.stop();
        }
      });
    } finally {
      await sql(server, `DROP ROLE ${role}`);
    }
  });

  it("the network silently drops the monitor's connection: a client-side deadline notices, and it reconnects", async () => {
    await withTestDatabase(server, uniqueName('mon_net'), async (db) => {
      const proxy = await droppingProxy(server);
      const url = new URL(urlFor(server, db));
      url.hostname = '127.0.0.1';
      url.port = String(proxy.port);
      const monitor = startMonitor(['--db', url.toString(), '--policy', await monitorPolicy(), '--interval', `${INTERVAL_MS}ms`]);
      try {
        const first = await monitor.waitFor((r) => r.type === 'sample', 30_000, 'a first sample');
        proxy.cut();
        const failed = await monitor.waitFor((r) => r.type === 'poll_failed', 30_000, 'the deadline');
        expect(failed.error).toMatch(/no answer from the server for 7s/);
        await monitor.waitFor((r) => r.type === 'connected' && r.reconnected, 30_000, 'the reconnection');
        await monitor.waitFor((r) => r.type === 'sample' && r.myPid !== first.myPid, 30_000, 'a sample on the new session');
      } finally {
        expect(await monitor.stop()).toBe(0);
        await proxy.close();
      }
    });
  });

  it('--once exits 0 OK, 1 WARNING, 2 CRITICAL (and 3 UNKNOWN when it cannot connect), with perfdata', async () => {
    await withTestDatabase(server, uniqueName('mon_once'), async (db) => {
      const args = ['monitor', '--once', '--db', urlFor(server, db), '--policy', await monitorPolicy()];
      const ok = await runCli(args);
      expect(ok.code, ok.stdout + ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(/^PGHARDEN OK - .* \| connections=1;;;0;\d+ longest_query=0s;;2;0 longest_idle_in_transaction=0s;1;;0\n$/);

      const idle = await session(server, db);
      const sleeper = await session(server, db);
      try {
        await idle.query('BEGIN');
        await idle.query('SELECT 1');
        await inStateFor(server, idle.pid, 1_300);
        const warning = await runCli(args);
        expect(warning.code, warning.stdout).toBe(1);
        expect(warning.stdout).toMatch(new RegExp(`^PGHARDEN WARNING - warning: pid ${idle.pid} .*idle in transaction`));

        // Long enough to still run when a slow machine gets to the check; cancelled after it.
        const running = sleeper.query('SELECT pg_sleep(60)').catch((err: Error) => err);
        await inStateFor(server, sleeper.pid, 2_300);
        const critical = await runCli([...args, '--json']);
        expect(critical.code, critical.stdout).toBe(2);
        expect(critical.json.status).toBe('CRITICAL');
        expect(critical.json.line).toMatch(new RegExp(`^PGHARDEN CRITICAL - critical: pid ${sleeper.pid} .*query running`));
        expect(critical.json.alerts.map((a: { rule: string }) => a.rule).sort()).toEqual(['idle_in_transaction', 'long_query']);
        await sql(server, `SELECT pg_cancel_backend(${sleeper.pid})`);
        await running;
      } finally {
        await idle.end();
        await sleeper.end();
      }
      const port = await freePort();
      const unknown = await runCli(['monitor', '--once', '--db', `postgres://nobody@127.0.0.1:${port}/x`]);
      expect(unknown.code).toBe(3);
      expect(unknown.stdout).toMatch(/^PGHARDEN UNKNOWN - cannot connect/);
      const badPolicy = await runCli([
        'monitor',
        '--once',
        '--db',
        urlFor(server, db),
        '--policy',
        await policyFile('alerts: { long_query: { over: soon } }'),
      ]);
      expect(badPolicy.code).toBe(3);
      expect(badPolicy.stdout).toMatch(/^PGHARDEN UNKNOWN - policy .* is invalid/);
    });
  });

  it('/metrics is scraped over HTTP with postgres_exporter names and the firing alert', async () => {
    await withTestDatabase(server, uniqueName('mon_prom'), async (db) => {
      const port = await freePort();
      const monitor = startMonitor([
        '--db',
        urlFor(server, db),
        '--policy',
        await monitorPolicy(),
        '--interval',
        `${INTERVAL_MS}ms`,
        '--prometheus',
        `127.0.0.1:${port}`,
      ]);
      const idle = await session(server, db);
      try {
        await idle.query('BEGIN');
        await idle.query('SELECT 1');
        await monitor.waitFor(isAlert('firing', 'idle_in_transaction', idle.pid), 30_000, 'the alert');
        const res = await fetch(`http://127.0.0.1:${port}/metrics`);
        expect(res.status).toBe(200);
        const text = await res.text();
        expect(text).toContain('pgharden_alert_firing{rule="idle_in_transaction",severity="warning"} 1');
        expect(text).toContain('pgharden_alert_firing{rule="long_query",severity="critical"} 0');
        // postgres_exporter v0.17's labels; the monitor's own (active) session is not among them
        expect(text).toContain(
          `pg_stat_activity_count{datname="${db}",state="idle in transaction",usename="postgres",application_name="monitor-test",backend_type="client backend",wait_event_type="Client",wait_event="ClientRead"} 1`,
        );
        expect(text).toMatch(
          new RegExp(`pg_stat_activity_max_tx_duration\\{datname="${db}",state="idle in transaction",usename="postgres",[^}]*\\} [1-9]`),
        );
        expect(text).toContain(
          `pg_stat_activity_count{datname="${db}",state="active",usename="",application_name="",backend_type="",wait_event_type="",wait_event=""} 0`,
        );
        expect(text).not.toMatch(/application_name="pgharden monitor"/);
        expect(text).toContain(`pg_database_connection_limit{datname="${db}"} -1`);
        expect(text).toMatch(
          new RegExp(`pgharden_longest_idle_in_transaction_seconds\\{datname="${db}",backend_type="client backend"\\} [1-9]`),
        );
        expect(text).toMatch(/^pg_up 1$/m);
        expect(text).toMatch(/^pg_settings_max_connections \d+$/m);
        const head = await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'HEAD' });
        expect(head.status).toBe(200);
        expect(head.headers.get('content-type')).toMatch(/^text\/plain/);
        expect(await head.text()).toBe('');
        expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
      } finally {
        await idle.end();
        await monitor.stop();
      }
    });
  });

  it('--recycle-idle terminates an idle pre-apply session, never an active or idle-in-transaction one', async () => {
    await withTestDatabase(server, uniqueName('mon_recycle'), async (db) => {
      const idle = await session(server, db, 'app-idle');
      const active = await session(server, db, 'app-active');
      const inTx = await session(server, db, 'app-in-tx');
      await inTx.query('BEGIN');
      await inTx.query('SELECT 1');
      const running = active.query('SELECT pg_sleep(30)').catch(() => undefined);
      const policy = await policyFile(TEST_POLICY + MONITOR_ALERTS_LONG);
      const applied = await runCli(['apply', '--db', urlFor(server, db), '--policy', policy]);
      expect(applied.code, applied.stderr).toBe(0);

      const monitor = startMonitor([
        '--db',
        urlFor(server, db),
        '--policy',
        policy,
        '--interval',
        `${INTERVAL_MS}ms`,
        '--recycle-idle',
        '--recycle-every',
        '200ms',
        '--recycle-min-idle',
        '500ms',
      ]);
      try {
        const sample = await monitor.waitFor((r) => r.type === 'sample' && r.rollout, 30_000, 'a sample with rollout');
        expect(sample.rollout).toMatchObject({ onOldSettings: 3, idleOnOldSettings: 1 });
        const recycled = await monitor.waitFor((r) => r.type === 'recycled', 30_000, 'a recycled session');
        expect(recycled.pid).toBe(idle.pid);
        // A few more rounds: the other two must survive them.
        await new Promise((r) => setTimeout(r, 1_500));
        expect(monitor.records.filter((r) => r.type === 'recycled')).toHaveLength(1);
        const alive = await sql<{ pid: number }>(server, 'SELECT pid FROM pg_stat_activity WHERE datname = $1', [db]);
        const pids = alive.map((r) => r.pid);
        expect(pids).not.toContain(idle.pid);
        expect(pids).toContain(active.pid);
        expect(pids).toContain(inTx.pid);
        const last = monitor.records.filter((r) => r.type === 'sample').at(-1)!;
        expect(last.rollout).toMatchObject({ onOldSettings: 2, idleOnOldSettings: 0 });
      } finally {
        await monitor.stop();
        await Promise.all([idle, active, inTx].map((c) => c.end().catch(() => undefined)));
        await running;
      }
    });
  });

  it('apply creates pgharden.security_monitoring; rollback drops it only when that run created it', async () => {
    await withTestDatabase(server, uniqueName('mon_view'), async (db) => {
      const args = ['--db', urlFor(server, db), '--policy', await policyFile(TEST_POLICY)];
      expect((await runCli(['apply', ...args])).code).toBe(0);
      const sleeper = await session(server, db);
      await sleeper.query('SET statement_timeout = 0'); // it connected after the apply's 2 s
      const running = sleeper.query('SELECT pg_sleep(60)').catch((err: Error) => err);
      await inStateFor(server, sleeper.pid, 1_100);
      const slow = await sql<{ pid: number; query_duration_seconds: string }>(
        server,
        'SELECT pid, query_duration_seconds FROM pgharden.security_monitoring WHERE query_duration_seconds > 1',
        [],
        db,
      );
      expect(slow.map((r) => r.pid)).toEqual([sleeper.pid]);
      await sql(server, 'SELECT pg_cancel_backend($1)', [sleeper.pid]);
      await running;
      await sleeper.end();
      const [granted] = await sql<{ ok: boolean }>(
        server,
        `SELECT has_table_privilege('pg_monitor', 'pgharden.security_monitoring', 'SELECT') AS ok`,
        [],
        db,
      );
      expect(granted.ok).toBe(true);

      expect((await runCli(['rollback', ...args])).code).toBe(0);
      expect(
        await sql(server, `SELECT 1 FROM pg_views WHERE schemaname = 'pgharden' AND viewname = 'security_monitoring'`, [], db),
      ).toHaveLength(0);

      // A view of the same name that pgharden did not create is left alone by apply and rollback.
      await sql(server, 'CREATE VIEW pgharden.security_monitoring AS SELECT 1 AS mine', [], db);
      expect((await runCli(['apply', ...args])).code).toBe(0);
      expect((await runCli(['rollback', ...args])).code).toBe(0);
      expect(await sql(server, 'SELECT mine FROM pgharden.security_monitoring', [], db)).toEqual([{ mine: 1 }]);
    });
  });

  it('diagnose names the idle transaction and the slow query with the runbook remedies', async () => {
    await withTestDatabase(server, uniqueName('mon_diag'), async (db) => {
      // Opened before the timeouts are set, so the server does not end them while diagnose looks.
      const idle = await session(server, db);
      const sleeper = await session(server, db);
      await sql(server, `ALTER DATABASE ${quoteIdent(db)} SET statement_timeout = '3s'`);
      await sql(server, `ALTER DATABASE ${quoteIdent(db)} SET idle_in_transaction_session_timeout = '4s'`);
      await idle.query('BEGIN');
      await idle.query('SELECT 1');
      const running = sleeper.query('SELECT pg_sleep(30)').catch(() => undefined);
      await inStateFor(server, sleeper.pid, 2_050); // near the 3 s timeout: past two thirds of it
      await inStateFor(server, idle.pid, 2_050); // past half the 4 s idle timeout
      const result = await runCli(['diagnose', '--db', urlFor(server, db), '--json']);
      await sql(server, 'SELECT pg_cancel_backend($1)', [sleeper.pid]);
      await running;
      await Promise.all([idle.end(), sleeper.end()]);
      expect(result.code, result.stderr).toBe(1);
      const byCode = Object.fromEntries(result.json.findings.map((f: { code: string }) => [f.code, f]));
      expect(result.json.timeouts).toEqual({ statementTimeoutMs: 3_000, idleInTransactionTimeoutMs: 4_000 });
      // Near the 3 s timeout, or past it when a loaded machine took diagnose over 0.9 s to look:
      // then it is listed as a session without the limit (it predates the ALTER DATABASE), never in both.
      const pids = (code: string) => byCode[code].sessions.map((s: { pid: number }) => s.pid);
      expect([...pids('queries-near-timeout'), ...pids('sessions-without-limit')]).toEqual([sleeper.pid]);
      expect(byCode['idle-transactions'].sessions.map((s: { pid: number }) => s.pid)).toEqual([idle.pid]);
      expect(byCode['idle-transactions'].remedy).toMatch(/transaction management/);
      expect(byCode['connection-pool'].problem).toBe(false);
    });
  });
});

/** Long thresholds for the recycle test: only rollout matters there. */
const MONITOR_ALERTS_LONG = `
alerts:
  long_query: { over: 1h, severity: critical }
`;
