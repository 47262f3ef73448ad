import { describe, expect, it } from 'vitest';
import { quoteIdent } from '../src/pg/quote.js';
import pg from 'pg';
import { policyFile, runCli, sql, targetFor, testServers, uniqueName, urlFor, withTestDatabase } from './helpers.js';

const POLICY = `
settings:
  statement_timeout: 2s
connection_limit: 20
`;

// Issue 11: a script tells "in policy", "drifted", "blocked" and "unreachable" apart by exit code alone.
describe.each(testServers())('check exit codes on $name PostgreSQL', (server) => {
  it('status, plan --detailed-exitcode and verify --once follow the database from drifted to in policy to defeated by a role', async () => {
    const policy = await policyFile(POLICY);
    const role = uniqueName('ec_app');
    await withTestDatabase(server, uniqueName('ec'), async (db) => {
      const url = urlFor(server, db);
      const args = ['--db', url, '--policy', policy];

      // Drifted: nothing applied yet.
      const status = await runCli(['status', '--json', ...args]);
      expect(status.code, status.stderr).toBe(1);
      expect(status.json.ok).toBe(false);
      expect(status.json.drift.map((d: { setting: string }) => d.setting)).toEqual(['statement_timeout', 'connection_limit']);
      const text = (r: { stdout: string; stderr: string }) => r.stdout + r.stderr;
      expect(text(await runCli(['status', ...args]))).toMatch(/drift: statement_timeout is 0 \(server\), the policy wants 2s/);
      expect((await runCli(['plan', ...args])).code).toBe(0);
      const pending = await runCli(['plan', '--detailed-exitcode', '--json', ...args]);
      expect(pending.code, pending.stderr).toBe(2);
      expect(pending.json.changesPending).toBe(true);
      const critical = await runCli(['verify', '--once', ...args]);
      expect(critical.code, critical.stdout).toBe(2);
      expect(critical.stdout).toMatch(
        /^PGHARDEN CRITICAL - verify statement_timeout is 0, not 2s; database \S+ has connection limit -1, not 20 \| settings_in_force=0;;;0;2 /,
      );
      expect(critical.stdout.trim().split('\n')).toHaveLength(1);
      // The human output: no green tick on a failed setting.
      const human = await runCli(['verify', ...args]);
      expect(human.code).toBe(1);
      expect(text(human)).toMatch(/✘ statement_timeout = 2s: 0 of \d+ login role\(s\) get it/);
      expect(text(human)).not.toMatch(/✔ .*statement_timeout/);

      // Applied: in policy.
      expect((await runCli(['apply', '--yes', ...args])).code).toBe(0);
      const inPolicy = await runCli(['status', '--json', ...args]);
      expect(inPolicy.code, inPolicy.stderr).toBe(0);
      expect(inPolicy.json).toMatchObject({ ok: true, inTargetState: true, drift: [] });
      expect((await runCli(['plan', '--detailed-exitcode', ...args])).code).toBe(0);
      const ok = await runCli(['verify', '--once', ...args]);
      expect(ok.code, ok.stdout).toBe(0);
      expect(ok.stdout).toMatch(
        /^PGHARDEN OK - verify \S+: 2 setting\(s\) in force for \d+ login role\(s\) \| settings_in_force=2;;;0;2 roles_not_in_policy=0;/,
      );

      // A role override defeats it: status (database level) is still in the target state, verify is not.
      await sql(server, `CREATE ROLE ${quoteIdent(role)} LOGIN`);
      try {
        await sql(server, `ALTER ROLE ${quoteIdent(role)} IN DATABASE ${quoteIdent(db)} SET statement_timeout = 0`);
        const defeated = await runCli(['verify', '--once', '--json', ...args]);
        expect(defeated.code).toBe(2);
        expect(defeated.json).toMatchObject({ ok: false, status: 'CRITICAL' });
        expect(defeated.json.line).toContain(`statement_timeout = 2s defeated by role override ${role} (0)`);
        const listed = await runCli(['verify', '--verbose', ...args]);
        expect(listed.code).toBe(1);
        expect(text(listed)).toContain(`✘ role ${role} overrides statement_timeout with 0`);
        expect(text(listed)).toContain(`fix: ALTER ROLE ${quoteIdent(role)} IN DATABASE ${quoteIdent(db)} RESET statement_timeout;`);
        expect(text(listed)).toMatch(new RegExp(`statement_timeout\\s+${role}\\s+0\\s+role in database\\s+NO`));
      } finally {
        await sql(server, `DROP ROLE ${quoteIdent(role)}`);
      }
    });
  });

  it('verify --once is WARNING while a session from before the apply still runs on the old settings', async () => {
    const policy = await policyFile(POLICY);
    await withTestDatabase(server, uniqueName('ec_warn'), async (db) => {
      const args = ['--db', urlFor(server, db), '--policy', policy];
      const old = new pg.Client(targetFor(server, db).config);
      old.on('error', () => undefined);
      await old.connect();
      try {
        expect((await runCli(['apply', '--yes', ...args])).code).toBe(0);
        const warning = await runCli(['verify', '--once', ...args]);
        expect(warning.code, warning.stdout).toBe(1);
        expect(warning.stdout).toMatch(
          /^PGHARDEN WARNING - verify \S+: the policy is in force for new sessions, but 1 session\(s\) started before the apply still run on the old settings \|.* sessions_on_old_settings=1;/,
        );
      } finally {
        await old.end();
      }
      const ok = await runCli(['verify', '--once', ...args]);
      expect(ok.code, ok.stdout).toBe(0);
    });
  });

  it('plan --detailed-exitcode is 4 when blocked; verify --once is UNKNOWN when it cannot tell', async () => {
    await withTestDatabase(server, uniqueName('ec_blk'), async (db) => {
      const blocked = await runCli([
        'plan',
        '--detailed-exitcode',
        '--db',
        urlFor(server, db),
        '--policy',
        await policyFile('connection_limit: 100000\n'),
      ]);
      expect(blocked.code, blocked.stderr).toBe(4);
      // No answer from the server: verify cannot tell.
      const unknown = await runCli([
        'verify',
        '--once',
        '--db',
        'postgres://nobody@127.0.0.1:1/x',
        '--policy',
        await policyFile('settings:\n  statement_timeout: 1s\n'),
      ]);
      expect(unknown.code, unknown.stdout).toBe(3);
      expect(unknown.stdout).toMatch(/^PGHARDEN UNKNOWN - /);
    });
  });
});

describe('verify --once without a server', () => {
  it('answers UNKNOWN (3) off a terminal, like monitor --once', async () => {
    const r = await runCli(['verify', '--once']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^PGHARDEN UNKNOWN - no server named/);
  });
});
