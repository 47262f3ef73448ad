import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { quoteIdent, quoteLiteral } from '../src/pg/quote.js';
import { setSql, storedValue } from '../src/plan/operations.js';
import { policyFile, runCli, sql, targetFor, testServers, uniqueName, urlFor, withTestDatabase, type TestServer } from './helpers.js';

/** The database-level setconfig entries, unsorted, exactly as pg_db_role_setting holds them. */
async function setconfig(server: TestServer, db: string): Promise<string[]> {
  const [row] = await sql<{ setconfig: string[] | null }>(
    server,
    `SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = $1 AND s.setrole = 0`,
    [db],
  );
  return row?.setconfig ?? [];
}

const entry = async (server: TestServer, db: string, name: string) => (await setconfig(server, db)).find((e) => e.startsWith(`${name}=`));

/** One session on `postgres`, for statements that must share a transaction. */
async function withAdmin<T>(server: TestServer, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(targetFor(server, 'postgres').config);
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Store `text` exactly (whatever its form) the only way SQL can: the session's value, copied with FROM CURRENT. */
async function storeExactly(server: TestServer, db: string, name: string, text: string) {
  await withAdmin(server, async (c) => {
    await c.query('BEGIN');
    await c.query('SELECT set_config($1, $2, true)', [name, text]);
    await c.query(`ALTER DATABASE ${quoteIdent(db)} SET ${name} FROM CURRENT`);
    await c.query('COMMIT');
  });
}

describe.each(testServers())('list-valued parameters on $name PostgreSQL', (server) => {
  it('apply writes search_path as a list that resolves, and rollback restores the prior setconfig byte for byte', async () => {
    await withTestDatabase(server, uniqueName('list'), async (db) => {
      await sql(server, 'CREATE SCHEMA app; CREATE SCHEMA app2; CREATE TABLE app.t1 (x int); CREATE TABLE app2.t2 (x int)', [], db);
      await sql(server, `ALTER DATABASE ${quoteIdent(db)} SET search_path = app, public`);
      const before = await setconfig(server, db);
      expect(before).toContain('search_path=app, public');

      const policy = await policyFile('settings:\n  search_path: "app2, public"\n');
      const args = ['--db', urlFor(server, db), '--policy', policy, '--json'];
      const applied = await runCli(['apply', '--yes', ...args]);
      expect(applied.code, applied.stderr).toBe(0);
      expect(applied.json.plan.operations[0].forward).toBe(`ALTER DATABASE ${quoteIdent(db)} SET search_path = 'app2', 'public';`);
      expect(await entry(server, db, 'search_path')).toBe('search_path=app2, public');

      // A fresh session resolves the new path: t2 is found unqualified, t1 no longer.
      expect((await sql<{ search_path: string }>(server, 'SHOW search_path', [], db))[0].search_path).toBe('app2, public');
      expect(await sql(server, 'SELECT count(*)::int AS n FROM t2', [], db)).toEqual([{ n: 0 }]);
      await expect(sql(server, 'SELECT count(*) FROM t1', [], db)).rejects.toThrow(/does not exist/);

      // The same policy again: nothing to do (the list compares element by element).
      const again = await runCli(['plan', ...args]);
      expect(again.code, again.stderr).toBe(0);
      expect(again.json.operations).toEqual([]);

      const rolled = await runCli(['rollback', '--yes', ...args]);
      expect(rolled.code, rolled.stderr).toBe(0);
      expect(await setconfig(server, db)).toEqual(before);
      expect(await sql(server, 'SELECT count(*)::int AS n FROM t1', [], db)).toEqual([{ n: 0 }]);
    });
  });

  it('restores every form a list value can have in setconfig, exactly, and leaves the session as it was', async () => {
    // Forms ALTER … SET writes, and forms only SET … FROM CURRENT can write (capitals unquoted, no space, empty).
    const priors: [string, string][] = [
      ['search_path', 'app, public'],
      ['search_path', '"$user", public'],
      ['search_path', '"My Schema", "we""ird", public'],
      ['search_path', '"select", public'],
      ['search_path', '"app, public"'],
      ['search_path', 'App,public'],
      ['search_path', 'user, public'],
      ['search_path', ''],
      ['search_path', '""'],
      ['temp_tablespaces', 'pg_default'],
      ['temp_tablespaces', ''],
      // Never loaded: nobody logs in to this database while it holds these.
      ['session_preload_libraries', 'auto_explain'],
      ['session_preload_libraries', '"$libdir/plugins/auto_explain", pg_stat_statements'],
      ['local_preload_libraries', 'a,b'],
    ];
    await withTestDatabase(server, uniqueName('listforms'), async (db) => {
      for (const [name, prior] of priors) {
        await storeExactly(server, db, name, prior);
        expect(await entry(server, db, name), `${name} set up`).toBe(`${name}=${prior}`);
        await sql(server, `ALTER DATABASE ${quoteIdent(db)} SET ${name} = 'x_other'`);

        const statement = setSql(db, name, prior);
        const sessionPath = await withAdmin(server, async (c) => {
          await c.query('SET search_path = pg_catalog, public');
          await c.query('BEGIN');
          await c.query(statement);
          const { rows } = await c.query('SHOW search_path');
          await c.query('COMMIT');
          return rows[0].search_path;
        });
        expect(await entry(server, db, name), `${name} restored by ${statement}`).toBe(`${name}=${prior}`);
        expect(sessionPath, 'the restoring session keeps its own search_path').toBe('pg_catalog, public');
        await sql(server, `ALTER DATABASE ${quoteIdent(db)} RESET ${name}`);
      }
    });
  });

  it('a policy list value is stored as the server itself writes it, with its meaning kept', async () => {
    const cases: [string, string, string][] = [
      ['search_path', 'app2, public', 'app2, public'],
      ['search_path', 'App2,PUBLIC', 'app2, public'],
      ['search_path', '"$user", "My Schema", public', '"$user", "My Schema", public'],
      ['temp_tablespaces', 'pg_default', 'pg_default'],
      ['session_preload_libraries', 'auto_explain, $libdir/plugins/x', 'auto_explain, "$libdir/plugins/x"'],
    ];
    await withTestDatabase(server, uniqueName('listpolicy'), async (db) => {
      for (const [name, written, stored] of cases) {
        expect(storedValue(name, written)).toBe(stored);
        await sql(server, setSql(db, name, storedValue(name, written)));
        expect(await entry(server, db, name)).toBe(`${name}=${stored}`);
      }
      // A value PostgreSQL reads as one element is still one: quoting keeps the comma inside the name.
      await sql(server, setSql(db, 'search_path', storedValue('search_path', '"a, b"')));
      expect(await entry(server, db, 'search_path')).toBe('search_path="a, b"');
      await sql(server, `ALTER DATABASE ${quoteIdent(db)} RESET ALL`);
      // Non-list strings are one literal, as before.
      await sql(server, setSql(db, 'application_name', "it's, fine"));
      expect(await entry(server, db, 'application_name')).toBe(`application_name=it's, fine`);
      expect(setSql(db, 'application_name', 'x')).toBe(`ALTER DATABASE ${quoteIdent(db)} SET application_name = ${quoteLiteral('x')};`);
    });
  });
});
