import { describe, expect, it } from 'vitest';
import { runCli, sql, testServers, uniqueName, urlFor, withTestDatabase } from './helpers.js';
import { migrationsFolder } from './migrate-helpers.js';

describe.each(testServers())('migrate runner on $name PostgreSQL', (server) => {
  it('ALTER TYPE … ADD VALUE then a use of the value in the same file: committed after the ADD VALUE, so it works', async () => {
    await withTestDatabase(server, uniqueName('mig_enum'), async (db) => {
      const dir = await migrationsFolder({
        '001_mood.sql': "CREATE TYPE mood AS ENUM ('ok');\nCREATE TABLE moods (m mood);\n",
        '001_mood_rollback.sql': 'DROP TABLE moods;\nDROP TYPE mood;\n',
        // As psql -f runs it. In one transaction, the INSERT fails with 55P04 (unsafe use of new value).
        '002_happy.sql': "ALTER TYPE mood ADD VALUE 'happy';\nINSERT INTO moods VALUES ('happy');\n",
        '002_happy_rollback.sql': "DELETE FROM moods WHERE m = 'happy';\n",
      });
      const up = await runCli(['migrate', 'up', '--db', urlFor(server, db), '--dir', dir]);
      expect(up.code, up.stderr).toBe(0);
      expect(up.stdout).toMatch(
        /applied 002_happy \(in 2 transactions: committed after ALTER TYPE … ADD VALUE \(line 1\) so the new value can be used/,
      );
      expect(await sql(server, 'SELECT m::text FROM moods', [], db)).toEqual([{ m: 'happy' }]);
    });
  });

  it('a non-transactional file failing half-way is recorded as partially applied; status says which statements; up runs it again once fixed', async () => {
    await withTestDatabase(server, uniqueName('mig_partial'), async (db) => {
      const files = {
        '001_index.sql':
          'CREATE TABLE t (a int, b int);\nCREATE INDEX CONCURRENTLY t_a ON t (a);\nCREATE INDEX CONCURRENTLY t_c ON t (c);\n',
        '001_index_rollback.sql': 'DROP TABLE t;\n',
      };
      const dir = await migrationsFolder(files);
      const args = ['--db', urlFor(server, db), '--dir', dir];
      const up = await runCli(['migrate', 'up', ...args]);
      expect(up.code).toBe(5);
      expect(up.stderr).toMatch(
        /001_index\.sql:3:1: column "c" does not exist \(SQLSTATE 42703\); the statements before it were committed .*statements 1–2 committed/,
      );
      const status = await runCli(['migrate', 'status', ...args, '--json']);
      expect(status.code).toBe(1);
      expect(status.json.rows).toEqual([expect.objectContaining({ version: 1, state: 'partial', partialStatements: 2 })]);
      const human = await runCli(['migrate', 'status', ...args]);
      expect(human.stdout).toMatch(/partially applied: statements 1–2 committed/);

      // Fixed to be re-runnable: up runs it again and the row says applied.
      const { writeFile } = await import('node:fs/promises');
      await writeFile(
        `${dir}/001_index.sql`,
        'CREATE TABLE IF NOT EXISTS t (a int, b int);\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_a ON t (a);\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_b ON t (b);\n',
      );
      const again = await runCli(['migrate', 'up', ...args]);
      expect(again.code, again.stderr).toBe(0);
      const after = await runCli(['migrate', 'status', ...args, '--json']);
      expect([after.code, after.json.rows[0].state]).toEqual([0, 'applied']);
    });
  }, 240_000);

  it('placeholders: ${name} from --set name=value and PGHARDEN_SET_name; a missing value is refused before anything runs', async () => {
    await withTestDatabase(server, uniqueName('mig_set'), async (db) => {
      const dir = await migrationsFolder({
        '001_app.sql': "CREATE SCHEMA ${schema};\nCREATE TABLE ${schema}.notes (owner text DEFAULT '${owner}');\n",
        '001_app_rollback.sql': 'DROP SCHEMA ${schema} CASCADE;\n',
      });
      const args = ['--db', urlFor(server, db), '--dir', dir];
      const missing = await runCli(['migrate', 'up', ...args, '--set', 'schema=app']);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(
        /001_app\.sql: no value for \$\{owner\}: give --set owner=… \(or PGHARDEN_SET_owner=…\); nothing was changed/,
      );
      expect(await sql(server, `SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'app'`, [], db)).toEqual([{ n: 0 }]);
      const up = await runCli(['migrate', 'up', ...args, '--set', 'schema=app'], { env: { PGHARDEN_SET_owner: 'alice' } });
      expect(up.code, up.stderr).toBe(0);
      expect(
        await sql(
          server,
          `SELECT column_default FROM information_schema.columns WHERE table_schema = 'app' AND table_name = 'notes'`,
          [],
          db,
        ),
      ).toEqual([{ column_default: "'alice'::text" }]);
    });
  });

  it('migrate up does not apply require-lock-timeout (it sets lock_timeout itself); migrate lint still does', async () => {
    await withTestDatabase(server, uniqueName('mig_lockrule'), async (db) => {
      const dir = await migrationsFolder({
        '001_t.sql': 'CREATE TABLE t (a int);\n',
        '001_t_rollback.sql': 'DROP TABLE t;\n',
        '002_col.sql': 'ALTER TABLE t ADD COLUMN b int;\n',
        '002_col_rollback.sql': "SET lock_timeout = '5s';\nALTER TABLE t DROP COLUMN b;\n",
      });
      const up = await runCli(['migrate', 'up', '--db', urlFor(server, db), '--dir', dir, '--json']);
      expect(up.code, up.stderr).toBe(0);
      expect(up.json.lint.diagnostics).toEqual([]);
      const lint = await runCli(['migrate', 'lint', '--dir', dir, '--json']);
      expect(lint.json.diagnostics.map((d: { file: string; rule: string }) => [d.file.split('/').pop(), d.rule])).toEqual([
        ['001_t_rollback.sql', 'require-lock-timeout'],
        ['002_col.sql', 'require-lock-timeout'],
      ]);
    });
  });
});
