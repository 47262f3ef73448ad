import { describe, expect, it } from 'vitest';
import { quoteIdent } from '../src/pg/quote.js';
import { TEST_POLICY, policyFile, runCli, snapshot, sql, testServers, uniqueName, urlFor, withTestDatabase } from './helpers.js';

describe.each(testServers())('core pipeline on $name PostgreSQL', (server) => {
  it('apply → verify → rollback restores pg_db_role_setting and datconnlimit exactly, from prior values', async () => {
    await withTestDatabase(server, uniqueName('prior'), async (db) => {
      await sql(server, `ALTER DATABASE ${quoteIdent(db)} SET work_mem = '64MB'`);
      await sql(server, `ALTER DATABASE ${quoteIdent(db)} SET statement_timeout = '5min'`);
      await sql(server, `ALTER DATABASE ${quoteIdent(db)} SET search_path = 'app, public'`);
      await sql(server, `ALTER DATABASE ${quoteIdent(db)} CONNECTION LIMIT 15`);
      const before = await snapshot(server, db);
      const policy = await policyFile(TEST_POLICY);
      const args = ['--db', urlFor(server, db), '--policy', policy, '--json'];

      const applied = await runCli(['apply', ...args]);
      expect(applied.code, applied.stderr).toBe(0);
      expect(applied.json.status).toBe('applied');
      const during = await snapshot(server, db);
      expect(during.connlimit).toBe(20);
      expect(during.setconfig).toContain('statement_timeout=2s');
      expect(during.setconfig.find((s) => s.startsWith('search_path='))).toBeDefined();

      const verified = await runCli(['verify', ...args]);
      expect(verified.code, verified.stdout).toBe(0);
      expect(verified.json.checks.every((c: { ok: boolean }) => c.ok)).toBe(true);

      const rolled = await runCli(['rollback', ...args]);
      expect(rolled.code, rolled.stderr).toBe(0);
      expect(rolled.json.check.ok).toBe(true);
      expect(await snapshot(server, db)).toEqual(before);

      // Twice is safe: nothing left to roll back, still exit 0, nothing changed.
      const again = await runCli(['rollback', ...args]);
      expect(again.code).toBe(0);
      expect(again.json.status).toBe('nothing_to_roll_back');
      expect(await snapshot(server, db)).toEqual(before);
    });
  });

  it('apply → rollback from a database with no prior values RESETs everything and restores the -1 limit', async () => {
    await withTestDatabase(server, uniqueName('fresh'), async (db) => {
      const before = await snapshot(server, db);
      expect(before).toEqual({ setconfig: [], connlimit: -1, roles: [] });
      const args = ['--db', urlFor(server, db), '--policy', await policyFile(TEST_POLICY), '--json'];
      expect((await runCli(['apply', ...args])).code).toBe(0);
      expect((await snapshot(server, db)).setconfig).toHaveLength(4);
      const rolled = await runCli(['rollback', ...args]);
      expect(rolled.code, rolled.stderr).toBe(0);
      expect(await snapshot(server, db)).toEqual(before);
    });
  });

  it('applying twice is a no-op the second time, and says so', async () => {
    await withTestDatabase(server, uniqueName('twice'), async (db) => {
      const args = ['--db', urlFor(server, db), '--policy', await policyFile(TEST_POLICY), '--json'];
      expect((await runCli(['apply', ...args])).json.status).toBe('applied');
      const second = await runCli(['apply', ...args]);
      expect(second.code).toBe(0);
      expect(second.json.status).toBe('noop');
      const human = await runCli(['apply', '--db', urlFor(server, db), '--policy', args[3]]);
      expect(human.stdout).toMatch(/already in the target state/);
    });
  });

  it('a role override (ALTER ROLE … IN DATABASE … SET statement_timeout = 0) makes verify fail and name the role', async () => {
    const role = uniqueName('override_role');
    await withTestDatabase(server, uniqueName('override'), async (db) => {
      await sql(server, `CREATE ROLE ${role} LOGIN`);
      try {
        await sql(server, `ALTER ROLE ${role} IN DATABASE ${quoteIdent(db)} SET statement_timeout = 0`);
        const args = ['--db', urlFor(server, db), '--policy', await policyFile(TEST_POLICY)];
        const planned = await runCli(['plan', ...args, '--json']);
        expect(
          planned.json.findings.some((f: { code: string; roles?: string[] }) => f.code === 'role-override' && f.roles?.includes(role)),
        ).toBe(true);
        expect((await runCli(['apply', ...args])).code).toBe(0);
        const verified = await runCli(['verify', ...args, '--json']);
        expect(verified.code).toBe(1);
        // The override, and the per-setting summary it makes fail (no green tick on "n-1 of n").
        const failed = verified.json.checks.filter((c: { ok: boolean; role?: string }) => !c.ok && c.role);
        expect(failed).toHaveLength(1);
        expect(verified.json.checks.find((c: { name: string }) => c.name === 'statement_timeout for login roles').ok).toBe(false);
        expect(failed[0]).toMatchObject({ role, setting: 'statement_timeout', actual: '0' });
        expect(failed[0].fix).toContain(`RESET statement_timeout`);
        const human = await runCli(['verify', ...args]);
        expect(human.stdout).toContain(`role ${role} overrides statement_timeout`);
      } finally {
        await sql(server, `DROP DATABASE IF EXISTS ${quoteIdent(db)} WITH (FORCE)`);
        await sql(server, `DROP ROLE IF EXISTS ${role}`);
      }
    });
  });

  it('refuses a policy asking for max_connections with exit 4 in plan and apply, and changes nothing', async () => {
    await withTestDatabase(server, uniqueName('maxconn'), async (db) => {
      const before = await snapshot(server, db);
      const policy = await policyFile('settings:\n  max_connections: 500\n  statement_timeout: 30s\n');
      const args = ['--db', urlFor(server, db), '--policy', policy];
      const planned = await runCli(['plan', ...args]);
      expect(planned.code).toBe(4);
      expect(planned.stdout).toMatch(/max_connections is a server-start parameter/);
      expect(planned.stdout).toMatch(/connection_limit/);
      const applied = await runCli(['apply', ...args, '--json']);
      expect(applied.code).toBe(4);
      expect(applied.json.details.findings.find((f: { code: string }) => f.code === 'not-database-settable').setting).toBe(
        'max_connections',
      );
      expect(await snapshot(server, db)).toEqual(before);
      const schema = await sql(server, `SELECT 1 FROM pg_namespace WHERE nspname = 'pgharden'`, [], db);
      expect(schema).toHaveLength(0);
    });
  });

  it('blocks a connection limit the server cannot honour (at or above max_connections − reserved)', async () => {
    await withTestDatabase(server, uniqueName('limit'), async (db) => {
      const [{ max }] = await sql<{ max: number }>(server, `SELECT current_setting('max_connections')::int AS max`);
      const planned = await runCli([
        'plan',
        '--db',
        urlFor(server, db),
        '--policy',
        await policyFile(`connection_limit: ${max}\n`),
        '--json',
      ]);
      expect(planned.code).toBe(4);
      expect(planned.json.findings.map((f: { code: string }) => f.code)).toContain('connection-limit-too-high');
    });
  });

  it('works end to end on a database whose name needs quoting', async () => {
    await withTestDatabase(server, `We"ird-Name ${uniqueName('x')}`, async (db) => {
      const before = await snapshot(server, db);
      const args = ['--db', urlFor(server, db), '--policy', await policyFile(TEST_POLICY), '--json'];
      const planned = await runCli(['plan', ...args]);
      expect(planned.json.forwardSql[0]).toContain(quoteIdent(db));
      expect((await runCli(['apply', ...args])).code).toBe(0);
      expect((await runCli(['verify', ...args])).code).toBe(0);
      expect((await runCli(['rollback', ...args])).code).toBe(0);
      expect(await snapshot(server, db)).toEqual(before);
    });
  });

  it('of two concurrent apply processes exactly one applies', async () => {
    await withTestDatabase(server, uniqueName('race'), async (db) => {
      const args = ['apply', '--db', urlFor(server, db), '--policy', await policyFile(TEST_POLICY), '--json'];
      const results = await Promise.all([runCli(args), runCli(args)]);
      expect(results.map((r) => r.code)).toEqual([0, 0]);
      expect(results.map((r) => r.json.status).sort()).toEqual(['applied', 'noop']);
      const runs = await sql<{ status: string }>(
        server,
        `SELECT status FROM pgharden.runs WHERE command = 'apply' AND status = 'applied'`,
        [],
        db,
      );
      expect(runs).toHaveLength(1);
      const steps = await sql(server, `SELECT name FROM pgharden.steps WHERE name LIKE 'set %' OR name = 'connection_limit'`, [], db);
      expect(steps).toHaveLength(5);
    });
  });

  it.each([
    ['an unknown key', 'settings:\n  work_mem: 64MB\nstatment_timeout: 30s\n', /unknown key "statment_timeout"/],
    ['a bad unit', 'settings:\n  statement_timeout: 30 parsecs\n', /statement_timeout.*unit "parsecs" is not valid/],
    ['a value out of range', 'settings:\n  work_mem: 1kB\n', /out of range for work_mem/],
    ['a wrong type', 'connection_limit: lots\n', /connection_limit: "lots"/],
    ['a wrong enum value', 'alerts:\n  long_query: { over: 25s, severity: loud }\n', /allowed values: critical, warning, info/],
  ])('a policy with %s exits 2 and changes nothing', async (_what, yaml, message) => {
    await withTestDatabase(server, uniqueName('badpolicy'), async (db) => {
      const before = await snapshot(server, db);
      const result = await runCli(['apply', '--db', urlFor(server, db), '--policy', await policyFile(yaml)]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(await snapshot(server, db)).toEqual(before);
    });
  });

  it('an unknown parameter is a blocking finding (exit 4), not a crash', async () => {
    await withTestDatabase(server, uniqueName('unknown'), async (db) => {
      const result = await runCli([
        'plan',
        '--db',
        urlFor(server, db),
        '--policy',
        await policyFile('settings:\n  statment_timeout: 30s\n'),
        '--json',
      ]);
      expect(result.code).toBe(4);
      expect(result.json.findings[0]).toMatchObject({ code: 'unknown-parameter', setting: 'statment_timeout' });
    });
  });
});

describe('connection errors', () => {
  it('an unreachable server exits 3 with the target and without the password', async () => {
    const result = await runCli(['plan', '--db', 'postgres://someone:s3cret-pw@127.0.0.1:1/codex_memory']);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/cannot connect to postgres:\/\/someone@127\.0\.0\.1:1\/codex_memory/);
    expect(result.stderr + result.stdout).not.toContain('s3cret-pw');
  });
});
