import { describe, expect, it } from 'vitest';
import { quoteIdent } from '../src/pg/quote.js';
import { policyFile, runCli, snapshot, sql, testServers, uniqueName, urlFor, withTestDatabase } from './helpers.js';

const PASSWORD = 'approver-pw-1';

describe.each(testServers())('approval bound to the exact plan on $name PostgreSQL', (server) => {
  it('apply --env with approval: required refuses without, with the same login, and after a change; accepts another login', async () => {
    const approver = uniqueName('approver');
    await sql(server, `CREATE ROLE ${quoteIdent(approver)} LOGIN SUPERUSER PASSWORD '${PASSWORD}'`);
    try {
      await withTestDatabase(server, uniqueName('approve'), async (db) => {
        const url = urlFor(server, db);
        const asApprover = new URL(url);
        asApprover.username = approver;
        asApprover.password = PASSWORD;
        const policy = await policyFile(`
settings: { statement_timeout: 2s, work_mem: 64MB }
environments:
  production: { db: "${url}", approval: required }
`);
        const env = ['--env', 'production', '--policy', policy, '--json'];
        const before = await snapshot(server, db);

        const none = await runCli(['apply', ...env, '--yes']);
        expect(none.code, none.stderr).toBe(4);
        expect(none.stderr).toContain('no approval is on record');
        expect(await snapshot(server, db)).toEqual(before);

        const ran = await runCli(['run', ...env, '--yes']);
        expect(ran.code, ran.stderr).toBe(4);
        expect(await snapshot(server, db)).toEqual(before);

        // Approved by the login that applies: four eyes says no.
        const self = await runCli(['approve', ...env]);
        expect(self.code, self.stderr).toBe(0);
        const planned = await runCli(['plan', ...env]);
        expect(self.json.approval.planHash).toBe(planned.json.planHash);
        const same = await runCli(['apply', ...env, '--yes']);
        expect(same.code).toBe(4);
        expect(same.stderr).toMatch(/approved only by .*the login applying it: approval needs a different database login/);

        // Approved by another login, then the database changes: the approval no longer counts.
        const other = await runCli(['approve', '--db', asApprover.toString(), '--policy', policy, '--name', 'Alice DBA', '--json']);
        expect(other.code, other.stderr).toBe(0);
        expect(other.json.approval.approvedBy).toBe(approver);
        expect(other.json.approval.planHash).toBe(planned.json.planHash);
        await sql(server, `ALTER DATABASE ${quoteIdent(db)} SET work_mem = '8MB'`);
        const changed = await runCli(['apply', ...env, '--yes']);
        expect(changed.code).toBe(4);
        expect(changed.stderr).toContain('the database changed since');
        expect((await snapshot(server, db)).setconfig).toEqual(['work_mem=8MB']);

        const again = await runCli(['approve', '--db', asApprover.toString(), '--policy', policy, '--name', 'Alice DBA', '--json']);
        expect(again.json.approval.planHash).not.toBe(planned.json.planHash);
        const applied = await runCli(['apply', ...env, '--yes']);
        expect(applied.code, applied.stderr).toBe(0);
        expect(applied.json.status).toBe('applied');
        const [row] = await sql<{ approved_by: string }>(
          server,
          `SELECT approved_by FROM pgharden.runs WHERE id = $1`,
          [applied.json.runId],
          db,
        );
        expect(row.approved_by).toContain(
          `${approver} (Alice DBA), approval #${again.json.approval.id} of plan ${again.json.approval.planHash.slice(0, 12)}`,
        );
      });
    } finally {
      await sql(server, `DROP ROLE IF EXISTS ${quoteIdent(approver)}`);
    }
  });

  it('--env must name an environment of the policy, and not together with --db (exit 2)', async () => {
    const policy = await policyFile(
      `settings: { statement_timeout: 2s }\nenvironments:\n  staging: { db: "${urlFor(server, 'postgres')}" }\n`,
    );
    const unknown = await runCli(['plan', '--env', 'production', '--policy', policy]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('environments staging');
    const both = await runCli(['plan', '--env', 'staging', '--db', urlFor(server, 'postgres'), '--policy', policy]);
    expect(both.code).toBe(2);
    const notYet = await runCli([
      'plan',
      '--env',
      'staging',
      '--policy',
      await policyFile(`environments:\n  staging: { db: x, window: "Sat 01:00-05:00 UTC" }\n`),
    ]);
    expect(notYet.code).toBe(2);
  });
});
