import { describe, expect, it } from 'vitest';
import { policyFile, runCli, sql, testServers, uniqueName, urlFor, withTestDatabase } from './helpers.js';
import { migrationsFolder } from './migrate-helpers.js';

describe.each(testServers())('settings changed by migrate, in pgharden status, on $name PostgreSQL', (server) => {
  it('status lists what applied migrations set and names the migration behind a drifted setting; a rollback removes it', async () => {
    await withTestDatabase(server, uniqueName('mig_status'), async (db) => {
      const role = uniqueName('mig_status_role');
      await sql(server, `CREATE ROLE ${role} LOGIN`);
      try {
        const dir = await migrationsFolder({
          '001_mem.sql': `ALTER DATABASE \${database} SET work_mem = '1MB';\nALTER ROLE ${role} IN DATABASE \${database} SET statement_timeout = '5s';\nALTER DATABASE \${database} CONNECTION LIMIT 40;\n`,
          '001_mem_rollback.sql': `ALTER DATABASE \${database} CONNECTION LIMIT -1;\nALTER ROLE ${role} IN DATABASE \${database} RESET statement_timeout;\nALTER DATABASE \${database} RESET work_mem;\n`,
          '002_table.sql': 'CREATE TABLE t (a int);\n',
          '002_table_rollback.sql': 'DROP TABLE t;\n',
        });
        const url = urlFor(server, db);
        expect((await runCli(['migrate', 'up', '--db', url, '--dir', dir])).code).toBe(0);
        const policy = await policyFile('settings:\n  work_mem: 256MB\n');

        const status = await runCli(['status', '--db', url, '--policy', policy, '--json']);
        expect(status.code, status.stderr).toBe(1); // work_mem drifted from the policy: by a migration
        expect(status.json.drift).toEqual([expect.objectContaining({ setting: 'work_mem', setByMigration: '1_mem' })]);
        expect(status.json.migrations).toEqual([
          expect.objectContaining({
            version: 1,
            migration: '1_mem',
            changes: [
              { line: 1, scope: 'database', database: db, role: null, name: 'work_mem', action: 'set', value: '1MB' },
              { line: 2, scope: 'role', database: db, role, name: 'statement_timeout', action: 'set', value: '5s' },
              { line: 3, scope: 'database', database: db, role: null, name: 'connection_limit', action: 'set', value: '40' },
            ],
          }),
        ]);
        const human = await runCli(['status', '--db', url, '--policy', policy]);
        expect(human.stdout).toMatch(/drift: work_mem is 1MB \(database\), the policy wants 256MB \(set by migration 1_mem\)/);
        expect(human.stdout).toMatch(/settings changed by pgharden migrate/);
        expect(human.stdout).toMatch(new RegExp(`1_mem +2 +statement_timeout = 5s \\(role ${role} in this database\\)`));

        expect((await runCli(['migrate', 'down', '--to', '0', '--db', url, '--dir', dir])).code).toBe(0);
        const after = await runCli(['status', '--db', url, '--policy', policy, '--json']);
        expect(after.json.migrations).toEqual([]);
      } finally {
        await sql(server, `DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
      }
    });
  });
});
