import fs from 'node:fs/promises';
import net from 'node:net';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { guard, type GuardResult } from '../src/guard/guard.js';
import type { GuardBaseline } from '../src/guard/triggers.js';
import { ensureBenchData } from '../src/load/bench-data.js';
import { connect, withClient } from '../src/pg/client.js';
import { quoteIdent } from '../src/pg/quote.js';
import { withDatabase as onDatabase, type Target } from '../src/pg/target.js';
import { parsePolicy } from '../src/policy/parse.js';
import { silentLog } from '../src/log.js';
import { loadSamplerFor } from '../src/run/load-sample.js';
import { sql, targetFor, testServers, uniqueName, urlFor, withTestDatabase, type TestServer } from './helpers.js';
import { startWorkload } from './workload.js';

const POLICY = parsePolicy('rollback_triggers:\n  timeout_errors_increase: 5%\n  latency_degradation: 20%\n', 'test');
const BASE: GuardBaseline = { failureRate: 0, load: null, statementMeanMs: null, watchedQueryIds: [] };

/** Run the guard as `run` does: the caller's own session, the guard's sampling on its own. */
async function runGuard(
  target: Target,
  opts: Omit<Parameters<typeof guard>[2], 'baseline'> & { baseline?: GuardBaseline; policy?: typeof POLICY },
): Promise<GuardResult> {
  const client = await connect(target, { appName: 'pgharden test caller' });
  try {
    return await guard({ target, policy: opts.policy ?? POLICY, log: silentLog }, client, { baseline: BASE, ...opts });
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** An application on one superuser session (it bypasses the connection limit): steady commits for the rates. */
function steadyApp(url: string): { stop(): Promise<number> } {
  const client = new pg.Client(url);
  client.on('error', () => undefined);
  let running = true;
  let n = 0;
  const done = (async () => {
    await client.connect();
    while (running) {
      await client.query('SELECT 1');
      n++;
      await new Promise((r) => setTimeout(r, 20));
    }
    await client.end();
  })().catch(() => undefined);
  return {
    stop: async () => {
      running = false;
      await done;
      return n;
    },
  };
}

const SYSTEM_LOG = '/var/log/postgresql/postgresql-15-main.log';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(testServers())('guard under faults ($name)', (server: TestServer) => {
  it('connections refused by the database limit fire pool_exhaustion with their 53300 count, never timeout_errors_increase', async () => {
    await withTestDatabase(server, uniqueName('guard_pool'), async (db) => {
      const role = uniqueName('app_role');
      const password = 'pw-' + uniqueName('x');
      await sql(server, `CREATE ROLE ${quoteIdent(role)} LOGIN PASSWORD '${password}'`);
      const holders: pg.Client[] = [];
      let hammer: ReturnType<typeof startWorkload> | null = null;
      const app = steadyApp(urlFor(server, db));
      try {
        await withClient(targetFor(server, db), async (c) => {
          await ensureBenchData(c);
          await c.query(`GRANT USAGE ON SCHEMA pgharden_bench TO ${quoteIdent(role)}`);
          await c.query(`GRANT SELECT, UPDATE ON ALL TABLES IN SCHEMA pgharden_bench TO ${quoteIdent(role)}`);
          await c.query(`ALTER DATABASE ${quoteIdent(db)} CONNECTION LIMIT 3`);
        });
        const roleUrl = new URL(urlFor(server, db));
        roleUrl.username = role;
        roleUrl.password = password;
        // The non-superuser application takes every slot the limit leaves (superuser sessions count
        // against it too, but are never refused), and keeps knocking for more.
        for (let i = 0; i < 10; i++) {
          const c = new pg.Client(roleUrl.toString());
          c.on('error', () => undefined);
          const refused = await c.connect().then(
            () => false,
            (err) => (err as { code?: string }).code === '53300',
          );
          if (refused) break;
          void c.query('SELECT pg_sleep(60)').catch(() => undefined);
          holders.push(c);
        }
        hammer = startWorkload(roleUrl.toString(), 'SELECT 1', 3);
        const roleTarget = onDatabase(targetFor(server, db), db);
        roleTarget.config = { ...roleTarget.config, user: role, password };

        // The system server's own stderr log (Debian's path), when this machine has it: the real format, read live.
        const logFile =
          server.name === 'system'
            ? await fs.access(SYSTEM_LOG, fs.constants.R_OK).then(
                () => SYSTEM_LOG,
                () => undefined,
              )
            : undefined;
        const result = await runGuard(targetFor(server, db), {
          windowMs: 6_000,
          intervalMs: 500,
          logFile,
          // The guard's load sampler logs in as the same role: its first login is refused (53300).
          load: loadSamplerFor(roleTarget, 'select', 2),
          loadSampleMs: 1_000,
        });
        const hammered = await hammer.stop();
        hammer = null;
        expect(hammered.errors['53300'], 'the scenario: the role is refused by the limit').toBeGreaterThan(0);

        expect(result.fired.map((t) => t.trigger)).toContain('pool_exhaustion');
        expect(result.fired.map((t) => t.trigger)).not.toContain('timeout_errors_increase');
        const pool = result.fired.find((t) => t.trigger === 'pool_exhaustion')!;
        expect(pool.sqlstates?.['53300']).toBeGreaterThanOrEqual(1);
        expect(pool.summary).toMatch(/pool exhausted: .*53300/);
        expect(result.loads.some((l) => l.failure && l.errors['53300'])).toBe(true);
        if (logFile) {
          expect(result.logError).toBeNull();
          expect(pool.sources.find((s) => s.source === 'log')!.summary).toMatch(/server log: [1-9]\d* login\(s\) refused with 53300/);
        }
        // pg_stat_database saw the refusals as rollbacks + FATAL session ends (what read as "61.54 % failed
        // transactions" before): kept apart, they are not statement failures.
        const timeouts = result.triggers.find((t) => t.trigger === 'timeout_errors_increase')!;
        expect(timeouts.fired).toBe(false);
        if (result.counters?.fatal !== null) expect(result.counters!.fatal).toBeGreaterThan(0);
        expect(result.counters!.rollbacks).toBeGreaterThan(0);
      } finally {
        await hammer?.stop();
        await app.stop();
        for (const c of holders) await c.end().catch(() => undefined);
        await sql(server, `DROP DATABASE IF EXISTS ${quoteIdent(db)} WITH (FORCE)`);
        await sql(server, `DROP ROLE IF EXISTS ${quoteIdent(role)}`);
      }
    });
  });

  it("pg_terminate_backend of the guard's session mid-window: it reconnects, completes the window and passes", async () => {
    await withTestDatabase(server, uniqueName('guard_kill'), async (db) => {
      const app = steadyApp(urlFor(server, db));
      const events: string[] = [];
      const killed: number[] = [];
      try {
        const guarding = runGuard(targetFor(server, db), {
          windowMs: 5_000,
          intervalMs: 400,
          onConnection: (e) => events.push(e.state),
          onSample: () => events.push('sample'),
        });
        // Kill the guard's session as soon as it has taken a reading, then once more.
        for (let round = 0; round < 2; round++) {
          for (let i = 0; i < 600 && events.filter((e) => e === 'sample').length <= round * 3; i++) await sleep(100);
          const rows = await sql<{ pid: number }>(
            server,
            `SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'pgharden guard'`,
            [db],
          );
          killed.push(...rows.map((r) => r.pid));
        }
        const result = await guarding;
        expect(killed.length).toBe(2);
        expect(result.lostConnection).toBe(false);
        expect(result.passed, JSON.stringify(result.fired)).toBe(true);
        expect(result.observedMs).toBeGreaterThanOrEqual(5_000);
        // Each kill was noticed and ridden out: lost, then recovered, then readings again.
        expect(events.filter((e) => e === 'lost').length).toBeGreaterThanOrEqual(1);
        expect(events.lastIndexOf('recovered')).toBeGreaterThan(events.indexOf('lost'));
        expect(events.lastIndexOf('sample')).toBeGreaterThan(events.lastIndexOf('recovered'));
        expect(result.outages.every((o) => o.recoveredAfterMs !== null)).toBe(true);
        // The window's rates were measured on the application's traffic, not decided by the fault.
        expect(result.triggers.find((t) => t.trigger === 'timeout_errors_increase')!.measured).toBe(true);
      } finally {
        await app.stop();
      }
    });
  });

  it('a server that stays unreachable past the bound ends the guard with lostConnection, not a verdict', async () => {
    await withTestDatabase(server, uniqueName('guard_lost'), async (db) => {
      const up = new URL(server.url);
      const sockets = new Set<net.Socket>();
      const proxy = net.createServer((c) => {
        const r = net.connect(Number(up.port || 5432), up.hostname);
        for (const s of [c, r]) {
          sockets.add(s);
          s.on('error', () => undefined);
          s.on('close', () => {
            c.destroy();
            r.destroy();
          });
        }
        c.pipe(r);
        r.pipe(c);
      });
      await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
      const target = targetFor(server, db);
      const viaProxy: Target = {
        ...target,
        config: { ...target.config, host: '127.0.0.1', port: (proxy.address() as net.AddressInfo).port },
      };
      const states: string[] = [];
      const guarding = runGuard(viaProxy, {
        windowMs: 60_000,
        intervalMs: 300,
        reconnectWithinMs: 1_500,
        onSample: () => states.push('sample'),
        onConnection: (e) => states.push(e.state),
      });
      for (let i = 0; i < 600 && !states.includes('sample'); i++) await sleep(100);
      // The server "goes away": open connections reset, new ones refused.
      proxy.close();
      for (const s of sockets) s.destroy();
      const result = await guarding;
      expect(states).toContain('lost');
      expect(result).toMatchObject({ lostConnection: true, passed: false, interrupted: false });
      expect(result.observedMs).toBeLessThan(60_000);
      expect(result.outages.at(-1)!.recoveredAfterMs).toBeNull();
    });
  });

  it('a window with no traffic reports triggers as not measured; require_measured makes that a failed guard', async () => {
    await withTestDatabase(server, uniqueName('guard_quiet'), async (db) => {
      const quiet = await runGuard(targetFor(server, db), { windowMs: 1_500, intervalMs: 300 });
      expect(quiet.passed).toBe(true);
      expect(quiet.notMeasured).toEqual(['timeout_errors_increase', 'latency_degradation']);
      const strict = parsePolicy('require_measured: [timeout_errors_increase, latency_degradation, pool_exhaustion]\n', 'test');
      const required = await runGuard(targetFor(server, db), { windowMs: 1_500, intervalMs: 300, policy: strict });
      expect(required.passed).toBe(false);
      expect(required.fired.map((t) => [t.trigger, t.requiredButNotMeasured])).toEqual([
        ['timeout_errors_increase', true],
        ['latency_degradation', true],
      ]);
    });
  });
});
