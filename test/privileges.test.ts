import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { quoteIdent, quoteLiteral } from '../src/pg/quote.js';
import { writerGrants } from '../src/state/grants.js';
import {
  policyFile,
  runCli,
  snapshot,
  sql,
  tempDir,
  TEST_POLICY,
  testServers,
  uniqueName,
  urlFor,
  withTestDatabase,
  type TestServer,
} from './helpers.js';

/**
 * Issue 10 "privileges" and issue 16 item 11: pgharden as the people who really run it — a
 * database owner who is not a superuser (with and without SET on the superuser-context
 * parameter), a pg_monitor member — and a real 53300 refusal at the connection limit.
 * Every other test connects as `postgres`, so these paths never run there.
 */

const POLICY = TEST_POLICY.replace('guard_window: 10s', 'guard_window: 3s');

/** A LOGIN role (not a superuser) with a password; dropped after `fn`, with its grants. */
async function withRole<T>(
  server: TestServer,
  prefix: string,
  options: string,
  fn: (role: string, password: string) => Promise<T>,
): Promise<T> {
  const role = uniqueName(prefix);
  const password = `Pw-${randomBytes(6).toString('hex')}`;
  await sql(server, `CREATE ROLE ${quoteIdent(role)} LOGIN NOSUPERUSER ${options} PASSWORD ${quoteLiteral(password)}`);
  try {
    return await fn(role, password);
  } finally {
    const [{ v }] = await sql<{ v: number }>(server, `SELECT current_setting('server_version_num')::int AS v`);
    if (v >= 150000) await sql(server, `REVOKE ALL ON PARAMETER log_min_duration_statement FROM ${quoteIdent(role)}`);
    await sql(server, `DROP ROLE IF EXISTS ${quoteIdent(role)}`);
  }
}

function roleUrl(server: TestServer, db: string, role: string, password: string): string {
  const u = new URL(urlFor(server, db));
  u.username = role;
  u.password = encodeURIComponent(password);
  return u.toString();
}

/** A fresh database owned by `role`, with prior values that rollback must restore exactly. */
async function withOwnedDatabase<T>(server: TestServer, role: string, fn: (db: string) => Promise<T>): Promise<T> {
  return withTestDatabase(server, uniqueName('priv'), async (db) => {
    await sql(server, `ALTER DATABASE ${quoteIdent(db)} OWNER TO ${quoteIdent(role)}`);
    await sql(server, `ALTER DATABASE ${quoteIdent(db)} SET work_mem = '8MB'`);
    await sql(server, `ALTER DATABASE ${quoteIdent(db)} CONNECTION LIMIT 50`);
    return fn(db);
  });
}

const versionNum = async (server: TestServer) =>
  (await sql<{ v: number }>(server, `SELECT current_setting('server_version_num')::int AS v`))[0].v;

describe.each(testServers())('privileges on $name PostgreSQL', (server) => {
  it('a non-superuser database owner granted SET on log_min_duration_statement plans, applies, verifies, rolls back and runs, exactly', async (ctx) => {
    if ((await versionNum(server)) < 150000) ctx.skip(); // GRANT SET ON PARAMETER is PG 15+
    await withRole(server, 'owner', '', async (role, password) => {
      await sql(server, `GRANT SET ON PARAMETER log_min_duration_statement TO ${quoteIdent(role)}`);
      await withOwnedDatabase(server, role, async (db) => {
        const cwd = await tempDir();
        const policy = await policyFile(POLICY);
        const cli = (args: string[]) => runCli([...args, '--db', roleUrl(server, db, role, password), '--policy', policy], { cwd });
        const before = await snapshot(server, db);

        const plan = await cli(['plan', '--json']);
        expect(plan.code, plan.stdout + plan.stderr).toBe(0);
        expect(plan.json.blocked).toBe(false);

        const apply = await cli(['apply', '--yes']);
        expect(apply.code, apply.stderr).toBe(0);
        const applied = await snapshot(server, db);
        expect(applied.setconfig).toEqual([
          'idle_in_transaction_session_timeout=3s',
          'log_min_duration_statement=1s',
          'statement_timeout=2s',
          'work_mem=256MB',
        ]);
        expect(applied.connlimit).toBe(20);

        const verify = await cli(['verify']);
        expect(verify.code, verify.stdout + verify.stderr).toBe(0);

        const rollback = await cli(['rollback', '--yes']);
        expect(rollback.code, rollback.stderr).toBe(0);
        expect(await snapshot(server, db)).toEqual(before);

        // The whole runbook, probes included, as the owner.
        const run = await cli(['run', '--yes', '--window', '3s', '--interval', '500ms', '--json']);
        expect(run.code, run.stderr).toBe(0);
        expect(run.json.outcome).toBe('passed');
        expect((await snapshot(server, db)).setconfig).toEqual(applied.setconfig);
        const rollbackRun = await cli(['rollback', '--yes']);
        expect(rollbackRun.code, rollbackRun.stderr).toBe(0);
        expect(await snapshot(server, db)).toEqual(before);
      });
    });
  }, 180_000); // plan, apply, verify, rollback, a run with probes and its window, rollback

  it('without SET on log_min_duration_statement, plan says that line needs a superuser (or the grant) and apply changes nothing', async () => {
    await withRole(server, 'owner', '', async (role, password) => {
      await withOwnedDatabase(server, role, async (db) => {
        const cli = (args: string[]) => runCli([...args, '--db', roleUrl(server, db, role, password), '--policy', policy], { cwd });
        const cwd = await tempDir();
        const policy = await policyFile(POLICY);
        const before = await snapshot(server, db);
        const plan = await cli(['plan', '--json']);
        expect(plan.code, plan.stderr).toBe(4);
        const finding = plan.json.findings.find((f: { code: string }) => f.code === 'superuser-privilege');
        expect(finding).toMatchObject({ severity: 'blocking', setting: 'log_min_duration_statement' });
        expect(finding.fix).toMatch(
          (await versionNum(server)) >= 150000 ? /GRANT SET ON PARAMETER log_min_duration_statement TO/ : /superuser/,
        );
        const apply = await cli(['apply', '--yes']);
        expect(apply.code, apply.stderr).toBe(4);
        expect(await snapshot(server, db)).toEqual(before);
      });
    });
  });

  it('a non-superuser refused at the database connection limit (53300) gets exit 3 naming the limit; a superuser is not refused', async () => {
    await withRole(server, 'owner', '', async (role, password) => {
      await withOwnedDatabase(server, role, async (db) => {
        await sql(server, `ALTER DATABASE ${quoteIdent(db)} CONNECTION LIMIT 1`);
        const policy = await policyFile(POLICY);
        const holder = new pg.Client(roleUrl(server, db, role, password));
        holder.on('error', () => undefined);
        await holder.connect();
        try {
          const refused = await runCli(['status', '--db', roleUrl(server, db, role, password), '--policy', policy]);
          expect(refused.code, refused.stdout + refused.stderr).toBe(3);
          expect(refused.stderr).toMatch(/connection limit/i);
          const once = await runCli(['monitor', '--once', '--db', roleUrl(server, db, role, password), '--policy', policy]);
          expect(once.code).toBe(3);
          expect(once.stdout).toMatch(/connection limit/i);
          const superuser = await runCli(['status', '--db', urlFor(server, db), '--policy', policy]);
          expect(superuser.code, superuser.stderr).not.toBe(3);
        } finally {
          await holder.end();
        }
      });
    });
  });

  it('a pg_monitor member can monitor and read status once the schema exists; without the grant, monitor still works and says why', async () => {
    await withRole(server, 'mon', 'IN ROLE pg_monitor', async (role, password) => {
      await withTestDatabase(server, uniqueName('priv_mon'), async (db) => {
        const policy = await policyFile(POLICY);
        const asMonitor = (args: string[]) => runCli([...args, '--db', roleUrl(server, db, role, password), '--policy', policy]);
        const applied = await runCli(['apply', '--yes', '--db', urlFor(server, db), '--policy', policy], { cwd: await tempDir() });
        expect(applied.code, applied.stderr).toBe(0);

        const once = await asMonitor(['monitor', '--once']);
        expect(once.code, once.stdout + once.stderr).toBe(0);
        expect(once.stdout).toMatch(/^PGHARDEN OK/);
        expect(once.stdout).toMatch(/sessions_on_old_settings=/); // rollout tracking read the journal
        const status = await asMonitor(['status', '--json']);
        expect(status.code, status.stderr).toBe(0);
        expect(status.json.latestApply).not.toBeNull();

        // A schema from before the grant (or a DBA who revoked it): monitoring degrades, status explains.
        await sql(server, 'REVOKE USAGE ON SCHEMA pgharden FROM pg_monitor', [], db);
        const degraded = await asMonitor(['monitor', '--once']);
        expect(degraded.code, degraded.stdout + degraded.stderr).toBe(0);
        expect(degraded.stderr).toMatch(/rollout tracking skipped/);
        const denied = await asMonitor(['status']);
        expect(denied.code).toBe(5);
        expect(denied.stderr).toMatch(/belongs to role postgres/);
        expect(denied.stderr).toContain(`GRANT USAGE ON SCHEMA pgharden TO "${role}"`);
      });
    });
  });

  it('a database owner who finds the schema created by postgres is told who owns it and what to grant; after those grants it applies and rolls back', async () => {
    await withRole(server, 'owner', '', async (role, password) => {
      await withOwnedDatabase(server, role, async (db) => {
        const cwd = await tempDir();
        // No log_min_duration_statement: this owner has no SET on it, and that is not the point here.
        const policy = await policyFile(POLICY.replace(/^\s*log_min_duration_statement:.*$/m, ''));
        const before = await snapshot(server, db);
        const pre = await runCli(['preflight', '--db', urlFor(server, db), '--policy', policy], { cwd });
        expect(pre.code, pre.stderr).toBe(0);
        const [{ owner }] = await sql<{ owner: string }>(
          server,
          `SELECT nspowner::regrole::text AS owner FROM pg_namespace WHERE nspname = 'pgharden'`,
          [],
          db,
        );

        const cli = (args: string[]) => runCli([...args, '--db', roleUrl(server, db, role, password), '--policy', policy], { cwd });
        const refused = await cli(['apply', '--yes']);
        expect(refused.code, refused.stderr).toBe(5);
        expect(refused.stderr).toContain(`belongs to role ${owner}`);
        for (const grant of writerGrants(role)) expect(refused.stderr).toContain(grant);
        expect(refused.stderr).toMatch(/ALTER SCHEMA pgharden OWNER TO/);
        expect(await snapshot(server, db)).toEqual(before);

        for (const grant of writerGrants(role)) await sql(server, grant, [], db);
        const apply = await cli(['apply', '--yes']);
        expect(apply.code, apply.stderr).toBe(0);
        expect((await snapshot(server, db)).connlimit).toBe(20);
        const rollback = await cli(['rollback', '--yes']);
        expect(rollback.code, rollback.stderr).toBe(0);
        expect(await snapshot(server, db)).toEqual(before);
      });
    });
  });

  it('a rollback the database partly refuses (SET revoked since the apply) restores the rest, names the refused value, leaves needs_attention, and converges once the grant is back', async (ctx) => {
    if ((await versionNum(server)) < 150000) ctx.skip(); // GRANT SET ON PARAMETER is PG 15+
    await withRole(server, 'revoked', '', async (role, password) => {
      await sql(server, `GRANT SET ON PARAMETER log_min_duration_statement TO ${quoteIdent(role)}`);
      await withOwnedDatabase(server, role, async (db) => {
        const cwd = await tempDir();
        const policy = await policyFile(POLICY);
        const cli = (args: string[]) =>
          runCli([...args, '--db', roleUrl(server, db, role, password), '--policy', policy, '--json'], { cwd });
        const before = await snapshot(server, db);
        const applied = await cli(['apply', '--yes']);
        expect(applied.code, applied.stderr).toBe(0);
        await sql(server, `REVOKE SET ON PARAMETER log_min_duration_statement FROM ${quoteIdent(role)}`);

        const partial = await cli(['rollback', '--yes']);
        expect(partial.code, partial.stderr).toBe(5);
        expect(partial.stderr).toMatch(/restored [1-9] value\(s\); the database refused 1:/);
        expect(partial.stderr).toMatch(/restored: ALTER DATABASE .* statement_timeout/);
        expect(partial.stderr).toMatch(/REFUSED:  ALTER DATABASE .* log_min_duration_statement;.*permission denied/);
        expect(partial.stderr).toMatch(/needs attention.*pgharden rollback --run/s);
        const [run] = await sql<{ status: string }>(server, 'SELECT status FROM pgharden.runs WHERE id = $1', [applied.json.runId], db);
        expect(run.status).toBe('needs_attention');

        await sql(server, `GRANT SET ON PARAMETER log_min_duration_statement TO ${quoteIdent(role)}`);
        const done = await cli(['rollback', '--yes']);
        expect(done.code, done.stderr).toBe(0);
        expect(await snapshot(server, db)).toEqual(before);
      });
    });
  });
});
