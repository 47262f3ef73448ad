import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyFile, runCli, sql, testServers, uniqueName, urlFor, withTestDatabase, type TestServer } from './helpers.js';
import { skipPgBouncer, startPgBouncer, throughPooler, type PgBouncer } from './pgbouncer-helpers.js';

const POLICY = 'settings: { statement_timeout: 2s }\nguard_window: 2s\n';
/** PgBouncer trusts the login, so the password is never checked: it is there to prove it is never shown or stored. */
const SECRET = 's3cret-pooler-pw';
const withPoolers = (bouncer: PgBouncer) => `${POLICY}poolers: ["${bouncer.adminUrl.replace('@', `:${SECRET}@`)}"]\n`;

describe.skipIf(skipPgBouncer).each(testServers())('PgBouncer in front of $name PostgreSQL', (server: TestServer) => {
  describe('session pooling', () => {
    let bouncer: PgBouncer;
    beforeAll(async () => {
      bouncer = await startPgBouncer(server, 'session');
    });
    afterAll(async () => {
      await bouncer?.stop();
    });

    it('a pooled client keeps the old statement_timeout without RECONNECT, and sees the new one right after apply with poolers: (and the old one after rollback)', async () => {
      await withTestDatabase(server, uniqueName('pgb'), async (db) => {
        const plain = await policyFile(POLICY);
        const pooled = await policyFile(withPoolers(bouncer));
        const cli = (args: string[], policy: string) =>
          runCli([...args, '--db', urlFor(server, db), '--policy', policy, '--yes', '--json']);
        const first = await throughPooler(bouncer.url(db));
        expect(first.value).not.toBe('2s');

        // Without poolers: PgBouncer hands the client the server connection opened before the change.
        const applied = await cli(['apply'], plain);
        expect(applied.code, applied.stderr).toBe(0);
        expect(applied.json.poolers).toBeUndefined();
        const stale = await throughPooler(bouncer.url(db));
        expect(stale.pid).toBe(first.pid);
        expect(stale.value).toBe(first.value);
        expect((await cli(['rollback'], plain)).code).toBe(0);

        // With poolers: RECONNECT after apply; the next client gets a new server connection on the new value.
        const reconnected = await cli(['apply'], pooled);
        expect(reconnected.code, reconnected.stderr).toBe(0);
        expect(reconnected.json.poolers).toEqual([expect.objectContaining({ databases: [db], servers: 1, recycled: 1, pending: 0 })]);
        expect(JSON.stringify(reconnected.json) + reconnected.stderr).not.toContain(SECRET);
        const stored = await sql<{ policy: unknown }>(
          server,
          'SELECT policy FROM pgharden.runs WHERE id = $1',
          [reconnected.json.runId],
          db,
        );
        expect(JSON.stringify(stored[0].policy)).not.toContain(SECRET);
        expect(reconnected.stderr).toContain('1 of 1 server connection(s) recycled');
        const fresh = await throughPooler(bouncer.url(db));
        expect(fresh.value).toBe('2s');
        expect(fresh.pid).not.toBe(first.pid);

        // And after rollback: the pool drops the hardened connection, the next client is back on the old value.
        const rolledBack = await cli(['rollback'], pooled);
        expect(rolledBack.code, rolledBack.stderr).toBe(0);
        expect(rolledBack.json.poolers).toEqual([expect.objectContaining({ servers: 1, recycled: 1 })]);
        const after = await throughPooler(bouncer.url(db));
        expect(after.value).toBe(first.value);
        expect(after.pid).not.toBe(fresh.pid);
      });
    });

    it('status and monitor --once count a pooled server connection opened before the apply until PgBouncer closes it on release', async () => {
      await withTestDatabase(server, uniqueName('pgb'), async (db) => {
        const pooled = await policyFile(withPoolers(bouncer));
        const cli = (args: string[]) => runCli([...args, '--db', urlFor(server, db), '--policy', pooled, '--json']);
        // A client holding its server connection (session pooling) across the apply.
        const app = new pg.Client({ connectionString: bouncer.url(db) });
        app.on('error', () => undefined);
        await app.connect();
        let backend = 0;
        try {
          backend = (await app.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
          const applied = await cli(['apply', '--yes']);
          expect(applied.code, applied.stderr).toBe(0);
          expect(applied.json.poolers).toEqual([expect.objectContaining({ servers: 1, recycled: 0, pending: 1 })]);

          const status = await cli(['status']);
          expect(status.code, status.stderr).toBe(0);
          expect(status.json.poolers).toEqual([expect.objectContaining({ servers: 1, onOldSettings: 1 })]);
          const once = await runCli(['monitor', '--once', '--json', '--db', urlFor(server, db), '--policy', pooled]);
          expect(once.json.sample.rollout.poolers, once.stdout + once.stderr).toEqual([
            expect.objectContaining({ servers: 1, onOldSettings: 1 }),
          ]);
          expect(once.stdout).toContain('pgbouncer_servers_on_old_settings=1');
        } finally {
          await app.end();
        }
        // Released: PgBouncer closes it (RECONNECT marked it), and its backend ends; a new client's connection is on the new settings.
        for (let i = 0; i < 300 && (await sql(server, 'SELECT 1 FROM pg_stat_activity WHERE pid = $1', [backend])).length; i++) {
          await new Promise((r) => setTimeout(r, 100));
        }
        expect((await throughPooler(bouncer.url(db))).value).toBe('2s');
        const status = await cli(['status']);
        expect(status.json.poolers).toEqual([expect.objectContaining({ servers: 1, onOldSettings: 0 })]);
      });
    });
  });

  describe.each(['session', 'transaction'] as const)('%s pooling', (mode) => {
    let bouncer: PgBouncer;
    beforeAll(async () => {
      bouncer = await startPgBouncer(server, mode);
    });
    afterAll(async () => {
      await bouncer?.stop();
    });

    it('verify --probe-url through PgBouncer proves statement_timeout and idle_in_transaction_session_timeout', async () => {
      await withTestDatabase(server, uniqueName('pgb'), async (db) => {
        const policy = await policyFile(
          `settings: { statement_timeout: 2s, idle_in_transaction_session_timeout: 2s }\npoolers: ["${bouncer.adminUrl}"]\n`,
        );
        const applied = await runCli(['apply', '--db', urlFor(server, db), '--policy', policy, '--yes', '--json']);
        expect(applied.code, applied.stderr).toBe(0);
        const verified = await runCli(['verify', '--db', urlFor(server, db), '--policy', policy, '--probe-url', bouncer.url(db), '--json']);
        const viaPooler = (verified.json.probes as { as: string; probe: string; status: string; message: string }[]).filter((p) =>
          p.as.includes(`:${bouncer.port}/`),
        );
        expect(viaPooler.map((p) => [p.probe, p.status]).sort(), JSON.stringify(viaPooler, null, 1)).toEqual([
          ['idle_in_transaction_session_timeout', 'passed'],
          ['statement_timeout', 'passed'],
        ]);
        expect(verified.code, verified.stdout).toBe(0);
      });
    });
  });
});
