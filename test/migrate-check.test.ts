import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli, sql, testServers, uniqueName, urlFor, withTestDatabase } from './helpers.js';
import { migrationsFolder } from './migrate-helpers.js';

const BROKEN = path.join(ROOT, 'test/fixtures/migrate-check-broken');

interface Finding {
  rule: string;
  file: string;
  line: number;
  col: number;
  message: string;
  migration: string;
  pg?: { sqlstate: string; message: string; detail: string | null; hint: string | null; context: string | null };
  objects?: { leftBehind: string[]; lost: string[]; changed: { object: string }[] };
}

/** A folder whose 002 rollback loses what 001 built (a database setting, a function) and whose 003 always raises. */
const LOSSY = {
  '001_notes.sql':
    "CREATE TABLE notes (id int PRIMARY KEY);\nCREATE FUNCTION note_count() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM notes $$;\nALTER DATABASE ${database} SET work_mem = '64MB';\n",
  '001_notes_rollback.sql': 'DROP FUNCTION note_count();\nDROP TABLE notes;\nALTER DATABASE ${database} RESET work_mem;\n',
  '002_harden.sql':
    "ALTER DATABASE ${database} SET work_mem = '256MB';\nCREATE OR REPLACE FUNCTION note_count() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) + 0 FROM notes $$;\n",
  // RESET is not "the value before": 64MB is lost, and so is 001's function.
  '002_harden_rollback.sql': 'ALTER DATABASE ${database} RESET work_mem;\nDROP FUNCTION note_count();\n',
  '003_verify.sql':
    "DO $$\nBEGIN\n  IF current_setting('work_mem') <> '256MB' OR '1min' <> '60s' THEN\n    RAISE EXCEPTION 'hardening not active: %', '1min';\n  END IF;\nEND $$;\n",
  '003_verify_rollback.sql': 'SELECT 1;\n',
};

describe.each(testServers())('migrate check on $name PostgreSQL', (server) => {
  const shadows = async () =>
    (await sql<{ datname: string }>(server, `SELECT datname FROM pg_database WHERE datname LIKE 'pgharden_shadow_%'`)).map(
      (r) => r.datname,
    );

  it("reports an incomplete rollback, a comment-only rollback, a missing extension and a wrong column name in PostgreSQL's words; drops the shadow", async () => {
    const r = await runCli(['migrate', 'check', '--shadow', server.url, '--dir', BROKEN, '--json']);
    expect(r.code, r.stderr).toBe(1);
    const findings: Finding[] = r.json.findings;
    const by = (rule: string) => findings.filter((f) => f.rule === rule);
    expect(findings.map((f) => [path.basename(f.file), f.rule]).sort()).toEqual([
      ['002_add_nickname_rollback.sql', 'rollback-failed'],
      ['003_add_profile_rollback.sql', 'rollback-incomplete'],
      ['004_audit_rollback.sql', 'rollback-empty'],
      ['005_embeddings.sql', 'apply-failed'],
    ]);
    // The wrong column name: PostgreSQL's error at the failing statement of the rollback.
    const [wrong] = by('rollback-failed');
    expect([wrong.line, wrong.col, wrong.pg?.sqlstate]).toEqual([3, 1, '42703']);
    expect(wrong.pg?.message).toBe('column "nick_name" of relation "users" does not exist');
    // Incomplete: the column and constraint left behind are named.
    expect(by('rollback-incomplete')[0].objects).toEqual({
      leftBehind: ['column public.users.bio', 'constraint users_bio_length on public.users'],
      lost: [],
      changed: [],
    });
    expect(by('rollback-empty')[0].objects?.leftBehind).toContain('table public.audit');
    // The missing extension: PostgreSQL's own message, DETAIL and HINT, at the statement.
    const [ext] = by('apply-failed');
    expect([ext.line, ext.col, ext.pg?.sqlstate]).toEqual([2, 1, '0A000']);
    expect(ext.pg?.message).toBe('extension "pgvector" is not available');
    // PostgreSQL 15 says "Could not open extension control file" in DETAIL, 18 has no DETAIL here; both HINT.
    expect(ext.pg?.hint).toBe('The extension must first be installed on the system where PostgreSQL is running.');
    // Only 001 is clean: its round trip is proved, the others are findings.
    expect(r.json.roundTrips).toBe(1);
    expect(r.json.notChecked).toEqual([]);
    expect(await shadows()).not.toContain(r.json.shadowDatabase);
  });

  it("--format github: one annotation per finding, at file and line, with PostgreSQL's HINT", async () => {
    const r = await runCli(['migrate', 'check', '--shadow', server.url, '--dir', BROKEN, '--format', 'github']);
    expect(r.code).toBe(1);
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('::'));
    expect(lines).toHaveLength(4);
    expect(lines.find((l) => l.includes('005_embeddings.sql'))).toMatch(
      /^::error file=.*005_embeddings\.sql,line=2,col=1,title=apply-failed::.*extension \"pgvector\" is not available.*%0AHINT: The extension must first be installed/,
    );
  });

  it('a rollback that loses what an earlier migration had (a database value, a function) is named; PL/pgSQL CONTEXT is kept', async () => {
    const dir = await migrationsFolder(LOSSY);
    const r = await runCli(['migrate', 'check', '--shadow', server.url, '--dir', dir, '--json']);
    expect(r.code, r.stderr).toBe(1);
    const findings: Finding[] = r.json.findings;
    expect(findings.map((f) => f.rule)).toEqual(['rollback-incomplete', 'apply-failed']);
    expect(findings[0].objects).toEqual({
      leftBehind: [],
      lost: ['database setting work_mem', 'function public.note_count()'],
      changed: [],
    });
    expect(findings[1].pg?.message).toBe('hardening not active: 1min');
    expect(findings[1].pg?.context).toMatch(/^PL\/pgSQL function inline_code_block line 4 at RAISE/);
    expect(r.json.roundTrips).toBe(1);
  });

  it('migrate up keeps DETAIL, HINT and CONTEXT of a failing statement', async () => {
    await withTestDatabase(server, uniqueName('mig_ctx'), async (db) => {
      const dir = await migrationsFolder(LOSSY);
      const up = await runCli(['migrate', 'up', '--db', urlFor(server, db), '--dir', dir]);
      expect(up.code).toBe(5);
      expect(up.stderr).toMatch(/003_verify\.sql:1:1: hardening not active: 1min \(SQLSTATE P0001\); rolled back/);
      expect(up.stderr).toMatch(/\n {2}CONTEXT: PL\/pgSQL function inline_code_block line 4 at RAISE/);
    });
  });

  it('the repository\'s own folder passes (psql\'s :"DBNAME" is the shadow there: no database name to point elsewhere)', async () => {
    const r = await runCli(['migrate', 'check', '--shadow', server.url, '--dir', path.join(ROOT, 'migration/migrations'), '--json']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.json).toMatchObject({ ok: true, findings: [], migrations: 1, roundTrips: 1 });
    expect(r.json.notes).toEqual([]);
  });

  it('a hand-written database name is pointed at the shadow, not at the real database of that name', async () => {
    const dir = await migrationsFolder({
      '001_harden.sql': "ALTER DATABASE codex_memory SET work_mem = '64MB';\n",
      '001_harden_rollback.sql': 'ALTER DATABASE "codex_memory" RESET work_mem;\n',
    });
    const r = await runCli(['migrate', 'check', '--shadow', server.url, '--dir', dir, '--json']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.json.notes.join('\n')).toMatch(
      /001_harden\.sql names database "codex_memory" \(line 1\): checked on the shadow database instead/,
    );
  });
});
