import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { policyFile, runCli, snapshot, testServers, uniqueName, urlFor, withTestDatabase, type TestServer } from './helpers.js';

const policy = (maxLoad: string) => `settings: { statement_timeout: 2s }\nguard_window: 2s\nmax_load: ${maxLoad}\n`;
const run = (server: TestServer, db: string, file: string, extra: string[] = []) =>
  runCli(['run', '--db', urlFor(server, db), '--policy', file, '--yes', '--no-probes', '--window', '2s', '--json', ...extra]);

/** `n` sessions each running a long statement: n active connections while it lasts. */
async function busySessions(server: TestServer, db: string, n: number): Promise<() => Promise<void>> {
  const clients = await Promise.all(
    Array.from({ length: n }, async () => {
      const c = new pg.Client({ connectionString: urlFor(server, db) });
      c.on('error', () => undefined);
      await c.connect();
      const pid = Number((await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
      c.query('SELECT pg_sleep(60)').catch(() => undefined);
      return { c, pid };
    }),
  );
  const pids = clients.map((x) => x.pid);
  return async () => {
    const admin = new pg.Client({ connectionString: urlFor(server, db) });
    await admin.connect();
    await admin.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) pid', [pids]);
    await admin.end();
    await Promise.all(clients.map((x) => x.c.end().catch(() => undefined)));
  };
}

/**
 * A client committing small write transactions back to back until stopped. Writing, because
 * PostgreSQL publishes a busy session's counters about once a second only for transactions that
 * commit a record (read-only statements back to back can stay unpublished for up to a minute).
 */
function transactionLoop(server: TestServer, db: string): () => Promise<void> {
  let stop = false;
  const done = (async () => {
    const c = new pg.Client({ connectionString: urlFor(server, db) });
    c.on('error', () => undefined);
    await c.connect();
    while (!stop) await c.query('SELECT pg_current_xact_id()');
    await c.end();
  })();
  return async () => {
    stop = true;
    await done;
  };
}

describe.each(testServers())('max_load on $name PostgreSQL', (server) => {
  it('run refuses (exit 4, nothing changed) while more sessions are active than max_load allows, names the measured values, and goes ahead under it', async () => {
    await withTestDatabase(server, uniqueName('load'), async (db) => {
      const file = await policyFile(policy('{ active_connections: 2, sample: 1s }'));
      const before = await snapshot(server, db);
      const release = await busySessions(server, db, 4);
      try {
        const refused = await run(server, db, file);
        expect(refused.code, refused.stderr).toBe(4);
        expect(refused.json.outcome).toBe('blocked');
        expect(refused.stderr).toMatch(/not a low-traffic period on \S+: 4 active connections, over max_load active_connections 2/); // pgharden's own sessions are not counted
        expect(refused.json.record.load).toBeUndefined(); // refused: the measurement is in the journal and the message
        expect(await snapshot(server, db)).toEqual(before);

        // --over-load "reason": goes ahead, and the reason and the measurement are recorded.
        const forced = await run(server, db, file, ['--over-load', 'hotfix, INC-42']);
        expect(forced.code, forced.stderr).toBe(0);
        expect(forced.json.record.load).toMatchObject({
          ok: false,
          override: 'hotfix, INC-42',
          measured: { activeConnections: 4 },
          limits: { activeConnections: 2 },
        });
        expect((await runCli(['rollback', '--db', urlFor(server, db), '--policy', file])).code).toBe(0);
      } finally {
        await release();
      }
      // Quiet again: the same policy goes ahead, with what it measured on the record.
      const passed = await run(server, db, file);
      expect(passed.code, passed.stderr).toBe(0);
      expect(passed.json.record.load).toMatchObject({ ok: true, measured: { activeConnections: 0 } });
      expect((await snapshot(server, db)).setconfig).toEqual(['statement_timeout=2s']);
    });
  });

  it('run refuses while the database commits more transactions per second than max_load tps; a share of the connection limit is read against it', async () => {
    await withTestDatabase(server, uniqueName('load'), async (db) => {
      const file = await policyFile(policy('{ tps: 50, active_connections: 50%, sample: 2s }'));
      const before = await snapshot(server, db);
      const stop = transactionLoop(server, db);
      try {
        await new Promise((r) => setTimeout(r, 1500)); // the loop's statistics reach pg_stat_database
        const refused = await run(server, db, file);
        expect(refused.code, refused.stderr).toBe(4);
        expect(refused.stderr).toMatch(/[\d.]+ transactions\/s, over max_load tps 50/);
        expect(await snapshot(server, db)).toEqual(before);
      } finally {
        await stop();
      }
      await new Promise((r) => setTimeout(r, 1500));
      const passed = await run(server, db, file);
      expect(passed.code, passed.stderr).toBe(0);
      expect(passed.json.record.load.measured.tps).toBeLessThan(50);
      expect(passed.json.record.load.limits.activeConnections).toBe(Math.floor(passed.json.record.load.measured.connectionLimit / 2));
    });
  });

  it('a max_load without a limit, or with a bad one, is a policy error (exit 2)', async () => {
    for (const bad of ['{ sample: 1s }', '{ active_connections: lots }', '{ tps: -1 }', '{ tps: 10, burst: 5 }']) {
      const r = await runCli(['policy', 'validate', '--policy', await policyFile(policy(bad))]);
      expect(r.code, `${bad}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain('max_load');
    }
    // poolers: are PgBouncer admin consoles: their database is pgbouncer.
    const notConsole = await runCli([
      'policy',
      'validate',
      '--policy',
      await policyFile('poolers: ["postgres://admin@pgb:6432/codex_memory"]\n'),
    ]);
    expect(notConsole.code).toBe(2);
    expect(notConsole.stderr).toContain('a PgBouncer admin console URL names the database pgbouncer');
  });
});
