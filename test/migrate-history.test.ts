import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, sql, testServers, uniqueName, urlFor, withTestDatabase } from './helpers.js';
import { migrationsFolder, THREE_PAIRS } from './migrate-helpers.js';

describe.each(testServers())('migrate history on $name PostgreSQL', (server) => {
  const journal = (db: string) =>
    sql<{ action: string; version: string; old_checksum: string | null; new_checksum: string; reason: string; by: string }>(
      server,
      'SELECT action, version, old_checksum, new_checksum, reason, by FROM pgharden.schema_migrations_journal ORDER BY id',
      [],
      db,
    );

  it('status exits 1 while migrations are pending (0 with --pending-ok); CRLF and a BOM are not a change; repair accepts an edit with a journal entry', async () => {
    await withTestDatabase(server, uniqueName('mig_hist'), async (db) => {
      const dir = await migrationsFolder(THREE_PAIRS);
      const args = ['--db', urlFor(server, db), '--dir', dir, '--json'];
      expect((await runCli(['migrate', 'up', '--to', '2', ...args])).code).toBe(0);
      const pending = await runCli(['migrate', 'status', ...args]);
      expect([pending.code, pending.json.pending, pending.json.problems]).toEqual([
        1,
        1,
        ['1 migration(s) pending (--pending-ok to accept)'],
      ]);
      expect((await runCli(['migrate', 'status', '--pending-ok', ...args])).code).toBe(0);
      expect((await runCli(['migrate', 'up', ...args])).code).toBe(0);

      // A checkout with CRLF line ends and a BOM: same migration.
      const file = path.join(dir, '001_create_notes.sql');
      await fs.writeFile(file, '\uFEFF' + THREE_PAIRS['001_create_notes.sql'].replace(/\n/g, '\r\n'));
      const crlf = await runCli(['migrate', 'status', ...args]);
      expect(crlf.code, crlf.stdout).toBe(0);

      // A real edit: changed (exit 1) until repaired; the journal says what was accepted, by whom and why.
      await fs.appendFile(file, '-- reviewed\r\n');
      expect((await runCli(['migrate', 'status', ...args])).code).toBe(1);
      const rep = await runCli(['migrate', 'repair', '--reason', 'comment added after review', ...args]);
      expect(rep.code, rep.stderr).toBe(0);
      expect(rep.json.versions.map((v: { version: number }) => v.version)).toEqual([1]);
      expect((await runCli(['migrate', 'status', ...args])).code).toBe(0);
      const [entry] = await journal(db);
      expect(entry).toMatchObject({ action: 'repair', version: '1', reason: 'comment added after review', by: 'postgres' });
      expect(entry.old_checksum).not.toBe(entry.new_checksum);
      expect((await runCli(['migrate', 'repair', ...args])).json.versions).toEqual([]);
    });
  });

  it('baseline --to N adopts a database migrated by psql: those files are not run, later ones are; timestamp versions and gaps work', async () => {
    await withTestDatabase(server, uniqueName('mig_base'), async (db) => {
      const dir = await migrationsFolder({
        '20260101120000_create_notes.sql': 'CREATE TABLE notes (id int PRIMARY KEY);\n',
        '20260101120000_create_notes_rollback.sql': 'DROP TABLE notes;\n',
        '20260301090000_note_body.sql': 'ALTER TABLE notes ADD COLUMN body text;\n',
        '20260301090000_note_body_rollback.sql': 'ALTER TABLE notes DROP COLUMN body;\n',
      });
      // What psql -f did before pgharden: the first file only.
      await sql(server, 'CREATE TABLE notes (id int PRIMARY KEY)', [], db);
      const args = ['--db', urlFor(server, db), '--dir', dir, '--json'];
      const base = await runCli(['migrate', 'baseline', '--to', '20260101120000', ...args]);
      expect(base.code, base.stderr).toBe(0);
      expect(base.json.versions.map((v: { version: number }) => v.version)).toEqual([20260101120000]);
      // Running 001 again would fail ("relation notes already exists"): up runs only the later one.
      const up = await runCli(['migrate', 'up', ...args]);
      expect(up.code, up.stderr).toBe(0);
      expect(up.json.steps.map((s: { version: number }) => s.version)).toEqual([20260301090000]);
      expect(up.stderr).not.toMatch(/numbers missing/); // timestamps are not "gaps"
      const rows = await sql<{ version: string }>(server, 'SELECT version::text FROM pgharden.schema_migrations ORDER BY version', [], db);
      expect(rows.map((r) => r.version)).toEqual(['20260101120000', '20260301090000']);
      expect((await journal(db)).map((j) => [j.action, j.version])).toEqual([['baseline', '20260101120000']]);
      const down = await runCli(['migrate', 'down', ...args]);
      expect(down.json.steps.map((s: { version: number }) => s.version)).toEqual([20260301090000]);
    });
  });
});
