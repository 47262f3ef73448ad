import { describe, expect, it } from 'vitest';
import { quoteIdent } from '../src/pg/quote.js';
import { runCli, sql, testServers, uniqueName, urlFor } from './helpers.js';

describe.each(testServers())('doctor on $name PostgreSQL', (server) => {
  it('lists a probe role and a rehearsal database left behind, with the SQL that removes them; --fix --yes removes them', async () => {
    const role = uniqueName('pgharden_probe');
    const db = uniqueName('pgharden_rehearsal');
    await sql(server, `CREATE ROLE ${quoteIdent(role)} LOGIN`);
    await sql(server, `CREATE DATABASE ${quoteIdent(db)}`);
    try {
      const url = urlFor(server, 'postgres');
      const listed = await runCli(['doctor', '--db', url, '--json']);
      expect(listed.code).toBe(1);
      expect(listed.json.leftovers).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ kind: 'role', name: role, fix: `DROP ROLE ${quoteIdent(role)};` }),
          expect.objectContaining({ kind: 'database', name: db, fix: `DROP DATABASE ${quoteIdent(db)} WITH (FORCE);` }),
        ]),
      );
      // Unattended, --fix needs --yes and changes nothing without it.
      expect((await runCli(['doctor', '--db', url, '--fix'])).code).toBe(2);
      expect(await sql(server, 'SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).toHaveLength(1);

      const fixed = await runCli(['doctor', '--db', url, '--fix', '--yes', '--json']);
      expect(fixed.json.fixed).toEqual(
        expect.arrayContaining([`DROP ROLE ${quoteIdent(role)};`, `DROP DATABASE ${quoteIdent(db)} WITH (FORCE);`]),
      );
      expect(await sql(server, 'SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).toHaveLength(0);
      expect(await sql(server, 'SELECT 1 FROM pg_database WHERE datname = $1', [db])).toHaveLength(0);
    } finally {
      await sql(server, `DROP DATABASE IF EXISTS ${quoteIdent(db)} WITH (FORCE)`);
      await sql(server, `DROP ROLE IF EXISTS ${quoteIdent(role)}`);
    }
  });
});
