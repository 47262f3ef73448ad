import { describe, expect, it } from 'vitest';
import { quoteIdent } from '../src/pg/quote.js';
import { policyFile, runCli, snapshot, sql, testServers, uniqueName, urlFor, withTestDatabase, type TestServer } from './helpers.js';

/** Rows in the journal's runs table (0 when pgharden never created its schema here). */
async function runCount(server: TestServer, db: string): Promise<number> {
  const [row] = await sql<{ n: number }>(
    server,
    `SELECT CASE WHEN to_regclass('pgharden.runs') IS NULL THEN 0 ELSE (SELECT count(*)::int FROM pgharden.runs) END AS n`,
    [],
    db,
  );
  return row.n;
}

interface FindingJson {
  severity: string;
  code: string;
  setting?: string;
  message: string;
  fix?: string;
}
const findingsOf = (json: { findings?: FindingJson[]; details?: { findings?: FindingJson[] } }) =>
  json.findings ?? json.details?.findings ?? [];

describe.each(testServers())('plan safety and bad values on $name PostgreSQL', (server) => {
  it('values the server rejects (TimeZone, DateStyle, lc_messages, text search config) block apply: exit 4, no run, nothing changed', async () => {
    await withTestDatabase(server, uniqueName('badval'), async (db) => {
      // A first, good apply creates the journal, so "no new row" is measured against a real table.
      const good = await runCli([
        'apply',
        '--yes',
        '--json',
        '--db',
        urlFor(server, db),
        '--policy',
        await policyFile('settings:\n  TimeZone: UTC\n  DateStyle: "ISO, DMY"\n'),
      ]);
      expect(good.code, good.stderr).toBe(0);
      const runs = await runCount(server, db);
      expect(runs).toBeGreaterThan(0);
      const before = await snapshot(server, db);

      const bad = await policyFile(
        [
          'settings:',
          '  TimeZone: Mars/Olympus',
          '  DateStyle: nonsense',
          '  lc_messages: xx_XX',
          '  default_text_search_config: no_such_config',
          '  work_mem: 64MB',
        ].join('\n'),
      );
      const args = ['--db', urlFor(server, db), '--policy', bad, '--json'];
      const plan = await runCli(['plan', ...args]);
      expect(plan.code, plan.stderr).toBe(4);
      const invalid = findingsOf(plan.json).filter((f) => f.code === 'invalid-value');
      expect(invalid.map((f) => f.setting).sort()).toEqual(['datestyle', 'default_text_search_config', 'lc_messages', 'timezone']);
      expect(invalid.every((f) => f.severity === 'blocking' && /rejects .*SQLSTATE 22023/.test(f.message) && f.fix)).toBe(true);
      expect(plan.json.rows.find((r: { setting: string }) => r.setting === 'timezone').action).toBe('blocked');

      const applied = await runCli(['apply', '--yes', ...args]);
      expect(applied.code, applied.stderr).toBe(4);
      expect(applied.stderr).toMatch(/Mars\/Olympus/);
      expect(applied.stderr).not.toMatch(/internal error|\n\s+at /);
      expect(await runCount(server, db)).toBe(runs);
      expect(await snapshot(server, db)).toEqual(before);
    });
  });

  it('flags settings that would lock out writers or shadow pg_catalog, and timeouts that would cut off the connecting role', async () => {
    await withTestDatabase(server, uniqueName('safety'), async (db) => {
      const policy = await policyFile(
        [
          'settings:',
          '  default_transaction_read_only: on',
          '  transaction_read_only: on',
          '  search_path: "public, pg_catalog"',
          '  statement_timeout: 500ms',
          '  lock_timeout: 200ms',
        ].join('\n'),
      );
      const r = await runCli(['plan', '--json', '--db', urlFor(server, db), '--policy', policy]);
      expect(r.code, r.stderr).toBe(0); // advisory: a read-only database may be the goal
      const byCode = new Map(findingsOf(r.json).map((f) => [`${f.code}:${f.setting}`, f]));
      expect(byCode.get('read-only-sessions:default_transaction_read_only')?.message).toMatch(/25006/);
      expect(byCode.get('no-effect-at-database-level:transaction_read_only')?.fix).toBe('write default_transaction_read_only instead');
      expect(byCode.get('search-path-shadows-catalog:search_path')?.fix).toMatch(/search_path: "pg_catalog, public"/);
      expect(byCode.get('short-timeout-for-own-role:statement_timeout')?.message).toMatch(/500ms also applies to/);
      expect(byCode.get('short-timeout-for-own-role:lock_timeout')).toBeDefined();

      // A search_path that keeps pg_catalog first (implicitly) and names a missing schema.
      const other = await runCli([
        'plan',
        '--json',
        '--db',
        urlFor(server, db),
        '--policy',
        await policyFile('settings:\n  search_path: "app_missing, public"\n  statement_timeout: 30s\n'),
      ]);
      expect(other.code, other.stderr).toBe(0);
      const codes = findingsOf(other.json).map((f) => f.code);
      expect(codes).not.toContain('search-path-shadows-catalog');
      expect(codes).not.toContain('short-timeout-for-own-role');
      expect(findingsOf(other.json).find((f) => f.code === 'search-path-missing-schema')?.message).toMatch(/"app_missing"/);
    });
  });

  it('is_superuser, role and session_authorization are named for what they are, and blocked', async () => {
    await withTestDatabase(server, uniqueName('hidden'), async (db) => {
      const before = await snapshot(server, db);
      const policy = await policyFile('settings:\n  is_superuser: on\n  role: postgres\n  session_authorization: postgres\n');
      const r = await runCli(['apply', '--yes', '--json', '--db', urlFor(server, db), '--policy', policy]);
      expect(r.code, r.stderr).toBe(4);
      expect(r.stderr).not.toMatch(/no such setting/);
      expect(r.stderr).toMatch(/is_superuser is not a setting: it is read-only/);
      expect(r.stderr).toMatch(/role is the parameter behind SET ROLE/);
      expect(r.stderr).toMatch(/session_authorization is the parameter behind SET SESSION AUTHORIZATION/);
      expect(await snapshot(server, db)).toEqual(before);
    });
  });

  it('YAML aliases with no anchor and alias bombs are a bad policy (exit 2), not an internal error', async () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]',
      'settings: *d',
    ].join('\n');
    for (const [yaml, message] of [
      ['settings: *undefined_alias\n', /refers to no anchor.*undefined_alias/],
      [bomb, /billion laughs/],
    ] as const) {
      const r = await runCli(['plan', '--db', urlFor(server, 'postgres'), '--policy', await policyFile(yaml)]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/internal error/);
    }
  });

  it('verify --probe-url that cannot log in fails verification (exit 1) with the reason', async () => {
    await withTestDatabase(server, uniqueName('probeurl'), async (db) => {
      await sql(server, `ALTER DATABASE ${quoteIdent(db)} SET statement_timeout = '1s'`);
      const u = new URL(urlFor(server, db));
      u.username = 'no_such_app_role';
      u.password = 'wrong-Secret-42';
      const policy = await policyFile('settings:\n  statement_timeout: 1s\n');
      const r = await runCli(['verify', '--json', '--db', urlFor(server, db), '--policy', policy, '--probe-url', u.toString()]);
      expect(r.code, r.stderr).toBe(1);
      const failed = r.json.probes.filter((p: { status: string }) => p.status === 'failed');
      expect(failed).toHaveLength(1);
      expect(failed[0].message).toMatch(/no_such_app_role.*(authentication failed|does not exist)/);
      expect(r.stdout + r.stderr).not.toContain('wrong-Secret-42');
    });
  });
});
