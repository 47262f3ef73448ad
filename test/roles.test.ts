import { describe, expect, it } from 'vitest';
import { quoteIdent } from '../src/pg/quote.js';
import { policyFile, runCli, snapshot, sql, testServers, uniqueName, urlFor, withTestDatabase, type TestServer } from './helpers.js';

type Check = { name: string; ok: boolean; role?: string; message: string; warning?: boolean };

/** A fresh database and login roles for one test; the database goes first so its role settings go with it. */
async function withRolesAndDb(server: TestServer, names: string[], fn: (db: string, roles: string[]) => Promise<void>) {
  const roles = names.map((n) => uniqueName(n));
  for (const r of roles) await sql(server, `CREATE ROLE ${quoteIdent(r)} LOGIN`);
  try {
    await withTestDatabase(server, uniqueName('roles'), (db) => fn(db, roles));
  } finally {
    for (const r of roles) await sql(server, `DROP ROLE IF EXISTS ${quoteIdent(r)}`);
  }
}

const isoDay = (offsetDays: number) => new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);

describe.each(testServers())('declared role values on $name PostgreSQL', (server) => {
  it('plan/apply set role values IN DATABASE, verify counts the declared exception, rollback restores every role entry exactly', async () => {
    await withRolesAndDb(server, ['reporting', 'app', 'legacy'], async (db, [reporting, app, legacy]) => {
      // Prior state rollback must put back: app has its own looser value, legacy a value the policy removes.
      await sql(server, `ALTER ROLE ${quoteIdent(app)} IN DATABASE ${quoteIdent(db)} SET idle_in_transaction_session_timeout = '10min'`);
      await sql(server, `ALTER ROLE ${quoteIdent(legacy)} IN DATABASE ${quoteIdent(db)} SET statement_timeout = '1h'`);
      const before = await snapshot(server, db);
      const policy = await policyFile(`
settings:
  statement_timeout: 2s
  idle_in_transaction_session_timeout: 3s
roles:
  ${reporting}:
    settings: { statement_timeout: 5min }
    reason: nightly reports, TICKET-123
    expires: 2099-03-31
  ${app}:
    settings: { idle_in_transaction_session_timeout: 1s }
  ${legacy}:
    settings: { statement_timeout: null }
`);
      const args = ['--db', urlFor(server, db), '--policy', policy, '--json'];

      const planned = await runCli(['plan', ...args]);
      expect(planned.code, planned.stderr).toBe(0);
      const ops = planned.json.operations as { kind: string; role?: string; name: string; forward: string; inverse: string }[];
      expect(ops.find((o) => o.role === reporting)).toMatchObject({
        kind: 'role_set',
        name: 'statement_timeout',
        inverse: `ALTER ROLE ${quoteIdent(reporting)} IN DATABASE ${quoteIdent(db)} RESET statement_timeout;`,
      });
      expect(ops.find((o) => o.role === reporting)!.forward).toBe(
        `ALTER ROLE ${quoteIdent(reporting)} IN DATABASE ${quoteIdent(db)} SET statement_timeout = '5min';`,
      );
      expect(ops.find((o) => o.role === app)).toMatchObject({
        kind: 'role_set',
        inverse: `ALTER ROLE ${quoteIdent(app)} IN DATABASE ${quoteIdent(db)} SET idle_in_transaction_session_timeout = '10min';`,
      });
      expect(ops.find((o) => o.role === legacy)).toMatchObject({
        kind: 'role_reset',
        forward: `ALTER ROLE ${quoteIdent(legacy)} IN DATABASE ${quoteIdent(db)} RESET statement_timeout;`,
      });

      const applied = await runCli(['apply', ...args]);
      expect(applied.code, applied.stderr).toBe(0);
      const during = await snapshot(server, db);
      expect(during.roles).toEqual(
        expect.arrayContaining([
          { role: reporting, setconfig: ['statement_timeout=5min'] },
          { role: app, setconfig: ['idle_in_transaction_session_timeout=1s'] },
        ]),
      );
      expect(during.roles.find((r) => r.role === legacy)).toBeUndefined();
      // Journaled like the database-level steps.
      const steps = await sql<{ name: string }>(server, `SELECT name FROM pgharden.steps WHERE run_id = $1`, [applied.json.runId], db);
      expect(steps.map((s) => s.name)).toContain(`role_set statement_timeout for role ${reporting}`);

      const verified = await runCli(['verify', ...args]);
      expect(verified.code, verified.stdout).toBe(0);
      const checks = verified.json.checks as Check[];
      expect(checks.every((c) => c.ok)).toBe(true);
      const summary = checks.find((c) => c.name === 'declared role exceptions')!;
      expect(summary.message).toMatch(/^1 role\(s\) run under declared exceptions/);
      expect(summary.message).toContain(`${reporting} (statement_timeout = 5min; nightly reports, TICKET-123; expires 2099-03-31)`);
      expect(checks.find((c) => c.name === `statement_timeout for ${reporting} (declared)`)?.ok).toBe(true);

      const rolled = await runCli(['rollback', ...args]);
      expect(rolled.code, rolled.stderr).toBe(0);
      expect(rolled.json.check.ok).toBe(true);
      expect(await snapshot(server, db)).toEqual(before);
    });
  });

  it('an undeclared override that defeats the database target still fails verify, naming the role', async () => {
    await withRolesAndDb(server, ['reporting', 'rogue'], async (db, [reporting, rogue]) => {
      await sql(server, `ALTER ROLE ${quoteIdent(rogue)} IN DATABASE ${quoteIdent(db)} SET statement_timeout = 0`);
      const policy = await policyFile(`
settings: { statement_timeout: 2s }
roles:
  ${reporting}: { settings: { statement_timeout: 5min }, reason: TICKET-9 }
`);
      const args = ['--db', urlFor(server, db), '--policy', policy, '--json'];
      expect((await runCli(['apply', ...args])).code).toBe(0);
      const verified = await runCli(['verify', ...args]);
      expect(verified.code).toBe(1);
      // The per-role failures (the setting's summary line fails too: not every role gets the target).
      const failed = (verified.json.checks as Check[]).filter((c) => !c.ok && c.role);
      expect(failed.map((c) => c.role)).toEqual([rogue]);
      expect(failed[0].message).toContain(`role ${rogue} overrides statement_timeout`);
    });
  });

  it('an expired exception fails verify and says so; one expiring within 14 days warns but passes', async () => {
    await withRolesAndDb(server, ['reporting'], async (db, [reporting]) => {
      const policyFor = (expires: string) =>
        policyFile(`
settings: { statement_timeout: 2s }
roles:
  ${reporting}: { settings: { statement_timeout: 5min }, reason: TICKET-1, expires: ${expires} }
`);
      const url = urlFor(server, db);
      const expired = await policyFor('2020-01-31');
      expect((await runCli(['apply', '--db', url, '--policy', expired])).code).toBe(0);
      const failed = await runCli(['verify', '--db', url, '--policy', expired, '--json']);
      expect(failed.code).toBe(1);
      const bad = (failed.json.checks as Check[]).filter((c) => !c.ok);
      expect(bad.length).toBeGreaterThanOrEqual(1);
      expect(bad.every((c) => /expired/.test(c.message) || !c.role)).toBe(true);
      expect(bad[0].message).toContain(`exception for role ${reporting} expired on 2020-01-31`);

      const soon = await policyFor(isoDay(5));
      const warned = await runCli(['verify', '--db', url, '--policy', soon, '--json']);
      expect(warned.code, warned.stdout).toBe(0);
      expect((warned.json.checks as Check[]).find((c) => c.warning)?.message).toMatch(
        new RegExp(`exception for role ${reporting} expires on ${isoDay(5)}, in [45] day`),
      );
      const human = await runCli(['verify', '--db', url, '--policy', soon]);
      expect(human.stdout).toMatch(/! the declared exception/);
    });
  });

  it('a looser role value without reason is a policy error (exit 2), nothing changed', async () => {
    await withRolesAndDb(server, ['reporting'], async (db, [reporting]) => {
      const before = await snapshot(server, db);
      const policy = await policyFile(`
settings: { statement_timeout: 2s, log_min_duration_statement: 1s }
roles:
  ${reporting}: { settings: { statement_timeout: 0, log_min_duration_statement: 500ms } }
`);
      for (const cmd of ['plan', 'apply']) {
        const r = await runCli([cmd, '--db', urlFor(server, db), '--policy', policy, '--yes']);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr + r.stdout).toContain(`roles.${reporting}: statement_timeout = 0 is looser than the database target`);
        // 500ms logs more than 1s: tighter, so it needs no reason and is not named.
        expect(r.stderr + r.stdout).not.toContain('log_min_duration_statement = 500ms');
      }
      expect(await snapshot(server, db)).toEqual(before);
    });
  });

  it('a role that does not exist blocks the plan (exit 4); a group role is planned with an advisory', async () => {
    await withTestDatabase(server, uniqueName('noroles'), async (db) => {
      const ghost = uniqueName('ghost');
      const group = uniqueName('group');
      await sql(server, `CREATE ROLE ${quoteIdent(group)} NOLOGIN`);
      try {
        const policy = await policyFile(
          `roles:\n  ${ghost}: { settings: { work_mem: 64MB } }\n  ${group}: { settings: { work_mem: 64MB } }\n`,
        );
        const r = await runCli(['plan', '--db', urlFor(server, db), '--policy', policy, '--json']);
        expect(r.code).toBe(4);
        const codes = (r.json.findings as { code: string; roles?: string[] }[]).map((f) => `${f.code}:${f.roles?.[0]}`);
        expect(codes).toContain(`role-missing:${ghost}`);
        expect(codes).toContain(`group-role:${group}`);
      } finally {
        await sql(server, `DROP DATABASE IF EXISTS ${quoteIdent(db)} WITH (FORCE)`);
        await sql(server, `DROP ROLE IF EXISTS ${quoteIdent(group)}`);
      }
    });
  });

  it('custom dotted parameters verify, at database and role level, and roll back', async () => {
    await withRolesAndDb(server, ['reporting'], async (db, [reporting]) => {
      const before = await snapshot(server, db);
      const policy = await policyFile(`
settings: { myapp.flag: 'on', myapp.tenant: 'acme' }
roles:
  ${reporting}: { settings: { myapp.flag: 'off' }, reason: reports read every tenant }
`);
      const args = ['--db', urlFor(server, db), '--policy', policy, '--json'];
      expect((await runCli(['apply', ...args])).code).toBe(0);
      const verified = await runCli(['verify', ...args]);
      expect(verified.code, verified.stdout).toBe(0);
      const live = (verified.json.checks as Check[]).find((c) => c.name === 'myapp.tenant live')!;
      expect(live.ok).toBe(true);
      // Proof the check can fail: someone changes the value behind the policy's back.
      await sql(server, `ALTER DATABASE ${quoteIdent(db)} SET myapp.tenant = 'other'`);
      const drifted = await runCli(['verify', ...args]);
      expect(drifted.code).toBe(1);
      expect((drifted.json.checks as Check[]).find((c) => c.name === 'myapp.tenant live')?.ok).toBe(false);
      await sql(server, `ALTER DATABASE ${quoteIdent(db)} SET myapp.tenant = 'acme'`);
      expect((await runCli(['rollback', ...args])).code).toBe(0);
      expect(await snapshot(server, db)).toEqual(before);
    });
  });
});
