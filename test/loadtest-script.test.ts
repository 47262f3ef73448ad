import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileScripts, parseScriptArg } from '../src/load/script.js';
import { quoteIdent } from '../src/pg/quote.js';
import { runCli, sql, tempDir, testServers, uniqueName, urlFor, withTestDatabase } from './helpers.js';

const compile = (text: string, file = 'x.sql') => compileScripts([{ file, weight: 1, text }], 2)(7);

describe('loadtest --script parsing (pgbench subset), without a database', () => {
  it(':var becomes a bind parameter; casts, quotes and comments are left alone; \\set runs before its command', () => {
    const w = compile(`-- a comment
\\set aid random(1, 100000 * :scale)
\\set half (:aid + 1) / 2 - -3 % 2
SELECT abalance::int, ':aid' AS literal, "col:aid" FROM accounts
 WHERE aid = :aid AND half = :half OR aid = :aid; -- trailing
\\sleep 5 ms
UPDATE t SET v = :client_id WHERE id = $$;:aid$$;
`);
    expect(w.statements.map((s) => [s.sql, s.params])).toEqual([
      ['SELECT abalance::int, \':aid\' AS literal, "col:aid" FROM accounts\n WHERE aid = $1 AND half = $2 OR aid = $1', 2],
      ['UPDATE t SET v = $1 WHERE id = $$;:aid$$', 1],
    ]);
    const [first, second] = w.transactions[0].roundTrips;
    expect(second.thinkMs).toBe(5);
    first.prepare!();
    const [aid, half] = first.steps[0].params.map((p) => p());
    expect(aid).toBeGreaterThanOrEqual(1);
    expect(aid).toBeLessThanOrEqual(200_000); // :scale is 2
    expect(half).toBe(Math.trunc((aid + 1) / 2) - (-3 % 2));
    expect(second.steps[0].params[0]()).toBe(7); // :client_id
    expect(first.steps[0].step).toBe('x.sql:4');
  });

  it('refuses what it does not support, naming the file and line', () => {
    expect(() => compile('SELECT :nope;')).toThrow(/x\.sql:1: :nope is used before any \\set of it/);
    expect(() => compile('\\set a 1.5\nSELECT :a;')).toThrow(/x\.sql:1: 1\.5: only integers/);
    expect(() => compile('\n\\setshell a echo 1\nSELECT 1;')).toThrow(/x\.sql:2: \\setshell is not supported/);
    expect(() => compile('\\set a random(1)\nSELECT :a;')).toThrow(/random\(\) takes 2 argument/);
    expect(() => compile('\\set a sqrt(4)\nSELECT :a;')).toThrow(/sqrt\(\) is not supported/);
    expect(() => compile('\\set a (1 + 2\nSELECT :a;')).toThrow(/expected "\)"/);
    expect(() => compile('\\set a 1\n')).toThrow(/no SQL command/);
    expect(parseScriptArg('a.sql@3')).toEqual({ file: 'a.sql', weight: 3 });
    expect(parseScriptArg('a@b.sql')).toEqual({ file: 'a@b.sql', weight: 1 });
    expect(() => parseScriptArg('a.sql@0')).toThrow(/weight of 1 or more/);
  });
});

describe.each(testServers())('loadtest --script on $name PostgreSQL', (server) => {
  it("runs a team's own weighted scripts; a query past the new statement_timeout counts as 57014 on its file:line; -P lines, stddev, connection time", async () => {
    await withTestDatabase(server, uniqueName('load_script'), async (db) => {
      await sql(
        server,
        'CREATE TABLE items (id int PRIMARY KEY, v int); INSERT INTO items SELECT g, g FROM generate_series(1, 100) g; CREATE TABLE hits (id int)',
        [],
        db,
      );
      await sql(server, `ALTER DATABASE ${quoteIdent(db)} SET statement_timeout = '300ms'`);
      const dir = await tempDir('pgharden-script-');
      const fast = path.join(dir, 'fast.sql');
      const slow = path.join(dir, 'slow.sql');
      await fs.writeFile(fast, '\\set id random(1, 100)\nSELECT v FROM items WHERE id = :id;\nINSERT INTO hits VALUES (:id);\n');
      await fs.writeFile(slow, '\\set ms 400 + random(0, 100)\nSELECT pg_sleep(:ms / 1000.0);\n');

      const run = runCli([
        'loadtest',
        '--db',
        urlFor(server, db),
        '--script',
        `${fast}@9`,
        '--script',
        `${slow}@1`,
        '--clients',
        '2',
        '--threads',
        '1',
        '--duration',
        '3s',
        '--json',
      ]);
      // While it runs: the slow script's :ms is a bind parameter of a prepared statement, not text.
      let seen = '';
      for (let i = 0; i < 40 && !seen; i++) {
        const rows = await sql<{ query: string }>(
          server,
          "SELECT query FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'SELECT pg_sleep(%'",
          [db],
        );
        seen = rows[0]?.query ?? '';
        if (!seen) await new Promise((r) => setTimeout(r, 100));
      }
      const r = await run;
      expect(r.code, r.stderr).toBe(0);
      expect(seen).toBe('SELECT pg_sleep($1 / 1000.0)');
      expect(r.json).toMatchObject({
        engine: 'pgharden',
        workload: 'script',
        scripts: [
          { file: fast, weight: 9 },
          { file: slow, weight: 1 },
        ],
      });
      expect(r.json.transactions).toBeGreaterThan(0);
      expect(r.json.errors['57014']).toBeGreaterThan(0);
      expect(r.json.errorsByStep['slow.sql:2']).toEqual({ '57014': r.json.errors['57014'] });
      expect(r.json.errorMessages['57014']).toMatch(/statement timeout/);
      expect(r.json.latency.stddevMs).toBeGreaterThanOrEqual(0);
      expect(r.json.latency.meanMs).toBeGreaterThan(0);
      expect(r.json.initialConnectionMs).toBeGreaterThan(0);
      // stderr is not a terminal here: pgbench -P 1 lines.
      expect(r.stderr).toMatch(/^progress: 1\.0 s, [\d.]+ tps, lat [\d.]+ ms stddev [\d.]+, \d+ failed$/m);
      const hits = await sql<{ n: number; lo: number; hi: number; distinct: number }>(
        server,
        'SELECT count(*)::int AS n, min(id) AS lo, max(id) AS hi, count(DISTINCT id)::int AS distinct FROM hits',
        [],
        db,
      );
      expect(hits[0].n).toBeGreaterThan(10);
      expect(hits[0].lo).toBeGreaterThanOrEqual(1);
      expect(hits[0].hi).toBeLessThanOrEqual(100);
      expect(hits[0].distinct).toBeGreaterThan(5); // random(1, 100) drew different ids

      const text = await runCli(['loadtest', '--db', urlFor(server, db), '--script', fast, '--clients', '1', '--duration', '1s']);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout + text.stderr).toMatch(/avg .* stddev .* p50/);
      expect(text.stdout + text.stderr).toMatch(/initial connection time = [\d.]+ ms/);
    });
  }, 60_000);

  it('a bad script or a missing file is refused (exit 2) before anything connects; a script the server rejects ends the run (exit 3)', async () => {
    await withTestDatabase(server, uniqueName('load_script_bad'), async (db) => {
      const dir = await tempDir('pgharden-script-');
      const bad = path.join(dir, 'bad.sql');
      await fs.writeFile(bad, 'SELECT 1;\n\\if true\n');
      const r = await runCli(['loadtest', '--db', urlFor(server, db), '--script', bad, '--duration', '1s']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/bad\.sql:2: \\if is not supported/);
      const missing = await runCli(['loadtest', '--db', urlFor(server, db), '--script', path.join(dir, 'none.sql'), '--duration', '1s']);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/cannot read .*none\.sql/);
      const typo = path.join(dir, 'typo.sql');
      await fs.writeFile(typo, 'SELEC 1;\n');
      const rejected = await runCli(['loadtest', '--db', urlFor(server, db), '--script', typo, '--duration', '1s']);
      expect(rejected.code, rejected.stderr).toBe(3);
      expect(rejected.stderr).toMatch(/syntax error/);
      expect(await sql(server, "SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'pgharden_bench'", [], db)).toEqual([{ n: 0 }]);
    });
  }, 60_000);
});
