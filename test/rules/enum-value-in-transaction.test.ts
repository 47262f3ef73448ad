import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { sql, targetFor, testServers, uniqueName, withTestDatabase, type TestServer } from '../helpers.js';
import { migrationsFolder } from '../migrate-helpers.js';
import { runCli, urlFor } from '../helpers.js';
import { lintRule } from './lint-helper.js';
import { parseSql } from '../../src/migrate/sql-file.js';

const rule = 'enum-value-in-transaction';

const USED_IN_TRANSACTION = ['BEGIN;', "ALTER TYPE mood ADD VALUE 'happy';", "INSERT INTO moods VALUES ('happy');", 'COMMIT;'].join('\n');

/** Examples PostgreSQL accepts: no BEGIN (each statement commits), a COMMIT in between, a type created in the transaction. */
const ACCEPTED = [
  "ALTER TYPE mood ADD VALUE 'happy';\nINSERT INTO moods VALUES ('happy');\n",
  "BEGIN;\nALTER TYPE mood ADD VALUE 'calm';\nCOMMIT;\nBEGIN;\nINSERT INTO moods VALUES ('calm');\nCOMMIT;\n",
  "BEGIN;\nALTER TYPE mood ADD VALUE 'sad';\nCREATE INDEX moods_m ON moods (m);\nCOMMIT;\n",
];

/** A type created in the transaction: PostgreSQL 17+ lets its new values be used there, 15 refuses them too. */
const CREATED_IN_TRANSACTION = "BEGIN;\nCREATE TYPE size AS ENUM ('s');\nALTER TYPE size ADD VALUE 'm';\nSELECT 'm'::size;\nCOMMIT;\n";

/**
 * Run a file's text as psql -f does (without -1): one statement at a time, each committing on its
 * own unless the file's BEGIN is open. (One multi-statement query would be one implicit transaction.)
 */
async function runAsPsql(server: TestServer, db: string, text: string): Promise<string | null> {
  const client = new pg.Client(targetFor(server, db).config);
  client.on('error', () => undefined);
  await client.connect();
  try {
    const parsed = await parseSql(text);
    if (!parsed.ok) throw new Error(parsed.error);
    for (const stmt of parsed.statements) await client.query(stmt.sql);
    return null;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    return (err as { code?: string }).code ?? 'unknown';
  } finally {
    await client.end();
  }
}

describe(rule, () => {
  it("fails a use of the new value inside the file's BEGIN … COMMIT, at the use", async () => {
    const found = await lintRule(rule, USED_IN_TRANSACTION);
    expect(found.map((d) => [d.line, d.severity])).toEqual([[3, 'error']]);
    expect(found[0].message).toMatch(
      /uses 'happy', which ALTER TYPE mood ADD VALUE on line 2 adds inside the same transaction \(the file's BEGIN on line 1\).*SQLSTATE 55P04/,
    );
    const inDo = await lintRule(rule, "BEGIN;\nALTER TYPE mood ADD VALUE 'happy';\nDO $$ BEGIN PERFORM 'happy'::mood; END $$;\nCOMMIT;\n");
    expect(inDo.map((d) => d.line)).toEqual([3]);
  });

  it('passes what PostgreSQL accepts', async () => {
    for (const text of ACCEPTED) expect(await lintRule(rule, text), text).toEqual([]);
  });

  it('a type created in the same transaction: refused for 15 and 16, accepted from 17 on', async () => {
    expect((await lintRule(rule, CREATED_IN_TRANSACTION, { major: 15 })).map((d) => d.line)).toEqual([4]);
    expect(await lintRule(rule, CREATED_IN_TRANSACTION, { major: 18 })).toEqual([]);
  });

  describe.each(testServers())('on $name PostgreSQL, the rule predicts what the server does', (server) => {
    it('the failing example fails with 55P04 as psql -f runs it; the accepted ones run', async () => {
      await withTestDatabase(server, uniqueName('enum_tx'), async (db) => {
        await runAsPsql(server, db, "CREATE TYPE mood AS ENUM ('ok'); CREATE TABLE moods (m mood);");
        expect(await runAsPsql(server, db, USED_IN_TRANSACTION)).toBe('55P04');
        for (const text of ACCEPTED) expect(await runAsPsql(server, db, text), text).toBeNull();
        const [{ major }] = await sql<{ major: number }>(server, "SELECT current_setting('server_version_num')::int / 10000 AS major");
        expect(await runAsPsql(server, db, CREATED_IN_TRANSACTION)).toBe(major >= 17 ? null : '55P04');
      });
    });

    it('migrate up refuses the file by lint (exit 4, nothing changed) instead of failing half-way', async () => {
      await withTestDatabase(server, uniqueName('enum_up'), async (db) => {
        const dir = await migrationsFolder({
          '001_mood.sql': "CREATE TYPE mood AS ENUM ('ok');\nCREATE TABLE moods (m mood);\n",
          '001_mood_rollback.sql': 'DROP TABLE moods;\nDROP TYPE mood;\n',
          '002_happy.sql': USED_IN_TRANSACTION + '\n',
          '002_happy_rollback.sql': "DELETE FROM moods WHERE m = 'happy';\n",
        });
        const up = await runCli(['migrate', 'up', '--db', urlFor(server, db), '--dir', dir]);
        expect(up.code, up.stderr).toBe(4);
        expect(up.stderr).toMatch(/002_happy\.sql:3:1 +error +enum-value-in-transaction/);
        const tables = await runAsPsql(server, db, 'SELECT 1 FROM moods');
        expect(tables).toBe('42P01'); // not even 001 ran: lint comes first
      });
    });
  });
});
