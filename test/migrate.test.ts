import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHANGE_LOCK } from '../src/apply/lock.js';
import { quoteIdent } from '../src/pg/quote.js';
import { runCli, snapshot, sql, targetFor, testServers, uniqueName, urlFor, withTestDatabase } from './helpers.js';
import { migrationsFolder, THREE_PAIRS } from './migrate-helpers.js';
import pg from 'pg';
import { createHash } from 'node:crypto';

const sha256 = async (file: string) =>
  createHash('sha256')
    .update(await fs.readFile(file))
    .digest('hex');

describe.each(testServers())('migrate on $name PostgreSQL', (server) => {
  const history = (db: string) =>
    sql<{ version: number; name: string; checksum: string; transactional: boolean; applied_by: string; duration_ms: number }>(
      server,
      'SELECT version::int AS version, name, checksum, transactional, applied_by, duration_ms FROM pgharden.schema_migrations ORDER BY version',
      [],
      db,
    );
  const columns = async (db: string) =>
    (
      await sql<{ column_name: string }>(
        server,
        `SELECT column_name FROM information_schema.columns WHERE table_name = 'notes' ORDER BY ordinal_position`,
        [],
        db,
      )
    ).map((r) => r.column_name);

  it('three pairs: up, status, down --steps 1, up again; history and checksums right; an edited applied file is caught', async () => {
    // A name that needs quoting proves ${database} is replaced by the quoted identifier.
    await withTestDatabase(server, uniqueName('Mig-Three'), async (db) => {
      const dir = await migrationsFolder(THREE_PAIRS);
      const args = ['--db', urlFor(server, db), '--dir', dir, '--json'];

      const up = await runCli(['migrate', 'up', ...args]);
      expect(up.code, up.stderr).toBe(0);
      expect(up.json.steps.map((s: { migration: string }) => s.migration)).toEqual(['001_create_notes', '002_harden', '003_note_author']);
      const rows = await history(db);
      expect(rows.map((r) => [r.version, r.name, r.transactional])).toEqual([
        [1, 'create_notes', true],
        [2, 'harden', true],
        [3, 'note_author', true],
      ]);
      for (const r of rows) expect(r.checksum).toBe(await sha256(path.join(dir, `00${r.version}_${r.name}.sql`)));
      expect(rows[0].applied_by).toBe('postgres');
      const hardened = await snapshot(server, db);
      expect(hardened).toMatchObject({ setconfig: ['statement_timeout=30s'], connlimit: 20 });
      expect(await columns(db)).toEqual(['id', 'body', 'author']);

      const status = await runCli(['migrate', 'status', ...args]);
      expect(status.code).toBe(0);
      expect(status.json.rows.map((r: { state: string }) => r.state)).toEqual(['applied', 'applied', 'applied']);

      const down = await runCli(['migrate', 'down', '--steps', '1', ...args]);
      expect(down.code, down.stderr).toBe(0);
      expect(down.json.steps.map((s: { migration: string }) => s.migration)).toEqual(['003_note_author']);
      expect(await columns(db)).toEqual(['id', 'body']);
      expect((await history(db)).map((r) => r.version)).toEqual([1, 2]);
      const afterDown = await runCli(['migrate', 'status', ...args]);
      expect(afterDown.json.rows.map((r: { state: string }) => r.state)).toEqual(['applied', 'applied', 'pending']);

      const again = await runCli(['migrate', 'up', ...args]);
      expect(again.code, again.stderr).toBe(0);
      expect(again.json.steps.map((s: { version: number }) => s.version)).toEqual([3]);
      expect((await history(db)).map((r) => r.version)).toEqual([1, 2, 3]);
      const noop = await runCli(['migrate', 'up', '--db', urlFor(server, db), '--dir', dir]);
      expect(noop.code).toBe(0);
      expect(noop.stdout).toMatch(/nothing to apply/);

      // Edit an applied file: status says changed (exit 1), up and down refuse (exit 1) and change nothing.
      await fs.appendFile(path.join(dir, '002_harden.sql'), "ALTER DATABASE ${database} SET work_mem = '64MB';\n");
      const changed = await runCli(['migrate', 'status', ...args]);
      expect(changed.code).toBe(1);
      expect(changed.json.rows[1]).toMatchObject({ version: 2, state: 'changed' });
      const refused = await runCli(['migrate', 'down', '--to', '0', ...args]);
      expect(refused.code).toBe(1);
      expect(refused.json.error).toMatch(/002_harden\.sql: sha256 .* changed|changed since they ran/);
      expect((await history(db)).map((r) => r.version)).toEqual([1, 2, 3]);
      expect(await snapshot(server, db)).toEqual(hardened);

      // --allow-changed rolls everything back regardless.
      const forced = await runCli(['migrate', 'down', '--to', '0', '--allow-changed', ...args]);
      expect(forced.code, forced.stderr).toBe(0);
      expect(forced.json.steps.map((s: { version: number }) => s.version)).toEqual([3, 2, 1]);
      expect(await history(db)).toEqual([]);
      expect(await snapshot(server, db)).toEqual({ setconfig: [], connlimit: -1, roles: [] });
    });
  });

  it('a file setting max_connections and track_activity_query_size: lint names both lines, up refuses and changes nothing', async () => {
    await withTestDatabase(server, uniqueName('mig_postmaster'), async (db) => {
      const dir = await migrationsFolder({
        '001_bad_limits.sql':
          "BEGIN;\nALTER DATABASE ${database} SET work_mem = '64MB';\nALTER DATABASE ${database} SET max_connections = 200;\nALTER DATABASE ${database} SET track_activity_query_size = 4096;\nCOMMIT;\n",
        '001_bad_limits_rollback.sql':
          'ALTER DATABASE ${database} RESET work_mem;\nALTER DATABASE ${database} RESET max_connections;\nALTER DATABASE ${database} RESET track_activity_query_size;\n',
      });
      const file = path.join(dir, '001_bad_limits.sql');
      const named = (r: { json: { diagnostics: { rule: string; file: string; line: number }[] } }) =>
        r.json.diagnostics.filter((d) => d.rule === 'setting-not-database-settable' && d.file === file).map((d) => d.line);

      const offline = await runCli(['migrate', 'lint', '--dir', dir, '--json']);
      expect(offline.code).toBe(4);
      expect(offline.json.connected).toBe(false);
      expect(named(offline)).toEqual([3, 4]);
      const human = await runCli(['migrate', 'lint', '--dir', dir]);
      expect(human.stdout).toContain(`${file}:3:1  error  setting-not-database-settable  max_connections is a postmaster parameter`);
      expect(human.stdout).toContain(
        `${file}:4:1  error  setting-not-database-settable  track_activity_query_size is a postmaster parameter`,
      );

      const connected = await runCli(['migrate', 'lint', '--db', urlFor(server, db), '--dir', dir, '--json']);
      expect(connected.code).toBe(4);
      expect(connected.json.catalog).toMatch(/live pg_settings/);
      expect(named(connected)).toEqual([3, 4]);

      const before = await snapshot(server, db);
      const up = await runCli(['migrate', 'up', '--db', urlFor(server, db), '--dir', dir, '--json']);
      expect(up.code).toBe(4);
      expect(up.json.error).toMatch(/nothing was changed/);
      expect(up.json.details.lint.errors).toBeGreaterThanOrEqual(2);
      expect(await snapshot(server, db)).toEqual(before);
      // Not even the history table: nothing ran.
      expect(await sql(server, `SELECT 1 FROM pg_namespace WHERE nspname = 'pgharden'`, [], db)).toEqual([]);
    });
  });

  it('non-transactional statements run outside a transaction, statement by statement, said so and recorded', async () => {
    await withTestDatabase(server, uniqueName('mig_concurrently'), async (db) => {
      await sql(
        server,
        'CREATE TABLE orders (id int, note text); INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, 1000) g',
        [],
        db,
      );
      const dir = await migrationsFolder({
        '001_orders_note_index.sql': 'CREATE INDEX CONCURRENTLY orders_note ON orders (note);\nVACUUM (ANALYZE) orders;\n',
        '001_orders_note_index_rollback.sql': 'DROP INDEX CONCURRENTLY orders_note;\n',
      });
      const args = ['--db', urlFor(server, db), '--dir', dir];
      const up = await runCli(['migrate', 'up', ...args]);
      expect(up.code, up.stderr).toBe(0);
      expect(up.stdout).toMatch(
        /CREATE INDEX CONCURRENTLY \(line 1\), VACUUM \(line 2\) cannot run inside a transaction: running it outside a transaction, statement by statement/,
      );
      expect(up.stdout).toMatch(/applied 001_orders_note_index \(outside a transaction/);
      const [index] = await sql<{ valid: boolean }>(
        server,
        `SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = 'orders_note'::regclass`,
        [],
        db,
      );
      expect(index.valid).toBe(true);
      expect((await history(db)).map((r) => [r.version, r.transactional])).toEqual([[1, false]]);

      const down = await runCli(['migrate', 'down', ...args, '--json']);
      expect(down.code, down.stderr).toBe(0);
      expect(down.json.steps[0]).toMatchObject({
        transactional: false,
        reason: 'DROP INDEX CONCURRENTLY (line 1) cannot run inside a transaction',
      });
      expect(await sql(server, `SELECT to_regclass('orders_note') AS idx`, [], db)).toEqual([{ idx: null }]);
    });
  });

  it('two concurrent `migrate up`: each migration is applied exactly once', async () => {
    await withTestDatabase(server, uniqueName('mig_race'), async (db) => {
      const files: Record<string, string> = {
        '001_log.sql': 'CREATE TABLE applied_log (migration int);\nINSERT INTO applied_log VALUES (1);\nSELECT pg_sleep(0.5);\n',
        '001_log_rollback.sql': 'DROP TABLE applied_log;\n',
      };
      for (const v of [2, 3]) {
        files[`00${v}_step.sql`] = `INSERT INTO applied_log VALUES (${v});\nSELECT pg_sleep(0.3);\n`;
        files[`00${v}_step_rollback.sql`] = `DELETE FROM applied_log WHERE migration = ${v};\n`;
      }
      const dir = await migrationsFolder(files);
      const args = ['migrate', 'up', '--db', urlFor(server, db), '--dir', dir, '--json'];
      const [a, b] = await Promise.all([runCli(args), runCli(args)]);
      expect([a.code, b.code], a.stderr + b.stderr).toEqual([0, 0]);
      const applied = [...a.json.steps, ...b.json.steps].map((s: { version: number }) => s.version).sort();
      expect(applied).toEqual([1, 2, 3]);
      expect(await sql(server, 'SELECT migration FROM applied_log ORDER BY 1', [], db)).toEqual([
        { migration: 1 },
        { migration: 2 },
        { migration: 3 },
      ]);
      expect((await history(db)).map((r) => r.version)).toEqual([1, 2, 3]);
    });
  });

  it('shares the change lock with apply: while another pgharden holds it, migrate up waits, then gives up with nothing changed', async () => {
    await withTestDatabase(server, uniqueName('mig_locked'), async (db) => {
      const dir = await migrationsFolder(THREE_PAIRS);
      const holder = new pg.Client(targetFor(server, db).config);
      await holder.connect();
      try {
        await holder.query('SELECT pg_advisory_lock($1::int, $2::int)', [CHANGE_LOCK.classid, CHANGE_LOCK.objid]);
        const up = await runCli(['migrate', 'up', '--db', urlFor(server, db), '--dir', dir, '--lock-wait', '1s']);
        expect(up.code).toBe(4);
        expect(up.stderr).toMatch(/another pgharden is changing this database/);
        expect(await sql(server, `SELECT to_regclass('notes') AS t`, [], db)).toEqual([{ t: null }]);
      } finally {
        await holder.end();
      }
    });
  });

  it('a statement that fails rolls its migration back whole; earlier migrations stay applied; exit 5 (the database refused)', async () => {
    await withTestDatabase(server, uniqueName('mig_fail'), async (db) => {
      const dir = await migrationsFolder({
        ...Object.fromEntries(Object.entries(THREE_PAIRS).filter(([k]) => k.startsWith('001'))),
        '002_broken.sql':
          "CREATE TABLE half (id int);\nALTER DATABASE ${database} SET work_mem = '64MB';\nINSERT INTO missing_table VALUES (1);\n",
        '002_broken_rollback.sql': 'DROP TABLE half;\nALTER DATABASE ${database} RESET work_mem;\n',
      });
      const up = await runCli(['migrate', 'up', '--db', urlFor(server, db), '--dir', dir]);
      expect(up.code).toBe(5);
      expect(up.stderr).toMatch(/002_broken\.sql:3:13: relation "missing_table" does not exist \(SQLSTATE 42P01\); rolled back/);
      expect((await history(db)).map((r) => r.version)).toEqual([1]);
      expect(await sql(server, `SELECT to_regclass('half') AS t`, [], db)).toEqual([{ t: null }]);
      expect((await snapshot(server, db)).setconfig).toEqual([]);
    });
  });

  it("one migration's session settings do not leak into the next; the migration session has our timeouts", async () => {
    await withTestDatabase(server, uniqueName('mig_session'), async (db) => {
      const dir = await migrationsFolder({
        '001_elsewhere.sql':
          'CREATE SCHEMA elsewhere;\nSET search_path = elsewhere;\nSET lock_timeout = 0;\nCREATE TABLE first_table (id int);\n',
        '001_elsewhere_rollback.sql': 'DROP SCHEMA elsewhere CASCADE;\n',
        '002_second.sql':
          "CREATE TABLE second_table AS SELECT current_setting('lock_timeout') AS lock_timeout, current_setting('statement_timeout') AS statement_timeout;\n",
        '002_second_rollback.sql': 'DROP TABLE second_table;\n',
      });
      const up = await runCli([
        'migrate',
        'up',
        '--db',
        urlFor(server, db),
        '--dir',
        dir,
        '--lock-timeout',
        '3s',
        '--statement-timeout',
        '2min',
      ]);
      expect(up.code, up.stderr).toBe(0);
      expect(
        await sql(
          server,
          `SELECT to_regclass('elsewhere.first_table') IS NOT NULL AS a, to_regclass('public.second_table') IS NOT NULL AS b`,
          [],
          db,
        ),
      ).toEqual([{ a: true, b: true }]);
      expect(await sql(server, 'SELECT * FROM public.second_table', [], db)).toEqual([{ lock_timeout: '3s', statement_timeout: '2min' }]);
    });
  });

  it('--dry-run lints and prints the statements as they would run, and changes nothing', async () => {
    await withTestDatabase(server, uniqueName('mig_dry'), async (db) => {
      const dir = await migrationsFolder(THREE_PAIRS);
      const before = await snapshot(server, db);
      const dry = await runCli(['migrate', 'up', '--dry-run', '--db', urlFor(server, db), '--dir', dir]);
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout).toContain(`would apply 002_harden from ${path.join(dir, '002_harden.sql')} in one transaction:`);
      expect(dry.stdout).toContain(`ALTER DATABASE ${quoteIdent(db)} SET statement_timeout = '30s';`);
      expect(dry.stdout).not.toMatch(/^\s+BEGIN;/m); // the file's own BEGIN/COMMIT are not nested inside ours
      expect(dry.stdout).toMatch(/dry run: nothing was changed/);
      expect(await snapshot(server, db)).toEqual(before);
      expect(await sql(server, `SELECT 1 FROM pg_namespace WHERE nspname = 'pgharden'`, [], db)).toEqual([]);
    });
  });

  it('connected lint: a hard-coded other database is an error; a rollback with a literal other than the prior value is a warning', async () => {
    await withTestDatabase(server, uniqueName('mig_connected'), async (db) => {
      await sql(server, `ALTER DATABASE ${quoteIdent(db)} SET statement_timeout = '5min'`);
      const dir = await migrationsFolder({
        '001_harden.sql': "ALTER DATABASE ${database} SET statement_timeout = '30s';\nALTER DATABASE ${database} SET work_mem = '256MB';\n",
        '001_harden_rollback.sql':
          "ALTER DATABASE ${database} SET statement_timeout = '300s';\nALTER DATABASE ${database} SET work_mem = '4MB';\n",
        '002_other.sql': "ALTER DATABASE codex_memory_prod SET work_mem = '1MB';\n",
        '002_other_rollback.sql': 'ALTER DATABASE codex_memory_prod RESET work_mem;\n',
      });
      const r = await runCli(['migrate', 'lint', '--db', urlFor(server, db), '--dir', dir, '--json']);
      expect(r.code).toBe(4);
      const pick = (rule: string) =>
        r.json.diagnostics
          .filter((d: { rule: string }) => d.rule === rule)
          .map((d: { file: string; line: number; severity: string }) => [path.basename(d.file), d.line, d.severity]);
      expect(pick('hard-coded-database')).toEqual([
        ['002_other.sql', 1, 'error'],
        ['002_other_rollback.sql', 1, 'error'],
      ]);
      // 300s = the prior 5min: fine. work_mem was not set at database level: RESET, not 4MB.
      expect(pick('rollback-hard-coded-value')).toEqual([['001_harden_rollback.sql', 2, 'warning']]);
      const offline = await runCli(['migrate', 'lint', '--dir', dir, '--json']);
      expect(offline.code).toBe(0);
    });
  });
});

describe('migrate without a server', () => {
  it('refuses duplicate numbers with a clear message (exit 2); gaps are allowed with a warning', async () => {
    const dup = await migrationsFolder({ '001_a.sql': '', '001_b.sql': '' });
    const r1 = await runCli(['migrate', 'lint', '--dir', dup]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toMatch(/two migrations numbered 001 .*001_a\.sql and 001_b\.sql/);
    const gap = await migrationsFolder({ '009_a.sql': '', '010_b.sql': '', '012_c.sql': '' });
    const r2 = await runCli(['migrate', 'check', '--dir', gap, '--shadow', 'postgres://nobody@127.0.0.1:1/none']);
    expect(r2.code).toBe(3); // the folder is accepted; only then does connecting fail
    expect(r2.stderr).toMatch(/warning: migration numbers missing in .*: 11 \(allowed/);
  });

  it('bad usage is refused before connecting (exit 2): --to with --steps, an unknown PostgreSQL major', async () => {
    const dir = await migrationsFolder(THREE_PAIRS);
    const both = await runCli(['migrate', 'down', '--to', '1', '--steps', '1', '--dir', dir, '--db', 'postgres://nobody@127.0.0.1:1/none']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/'--steps <K>' cannot be used with option '--to <N>'/);
    expect((await runCli(['migrate', 'lint', '--pg-version', '12', '--dir', dir])).code).toBe(2);
  });

  it('new creates the next numbered pair, which lints clean', async () => {
    const dir = await migrationsFolder({
      '009_security_hardening.sql': 'SELECT 1;\n',
      '009_security_hardening_rollback.sql': 'SELECT 1;\n',
    });
    const r = await runCli(['migrate', 'new', 'add_orders_index', '--dir', dir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ version: 10, forward: path.join(dir, '010_add_orders_index.sql') });
    expect((await fs.readdir(dir)).sort()).toContain('010_add_orders_index_rollback.sql');
    expect((await runCli(['migrate', 'lint', '--dir', dir])).code).toBe(0);
    expect((await runCli(['migrate', 'new', 'Bad Name', '--dir', dir])).code).toBe(2);
  });

  it('--format github prints workflow annotations; a syntax error is located', async () => {
    const dir = await migrationsFolder({
      '001_x.sql': "GRANT SELECT ON orders TO PUBLIC;\nALTER DATABASE ${database} SET shared_buffers = '1GB';\n",
      '001_x_rollback.sql': 'SELECT 1;\nSELEC 2;\n',
    });
    const r = await runCli(['migrate', 'lint', '--dir', dir, '--format', 'github']);
    expect(r.code).toBe(4);
    const file = path.join(dir, '001_x.sql');
    expect(r.stdout).toContain(`::warning file=${file},line=1,col=1,title=grant-to-public::`);
    expect(r.stdout).toContain(
      `::error file=${file},line=2,col=1,title=setting-not-database-settable::shared_buffers is a postmaster parameter`,
    );
    expect(r.stdout).toContain(
      `::error file=${path.join(dir, '001_x_rollback.sql')},line=2,col=1,title=syntax-error::syntax error at or near "SELEC"`,
    );
  });
});
