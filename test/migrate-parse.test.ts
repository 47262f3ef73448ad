import { describe, expect, it } from 'vitest';
import { forDatabase, forLint } from '../src/migrate/placeholder.js';
import { planFile } from '../src/migrate/run-file.js';
import { parseSql } from '../src/migrate/sql-file.js';

describe('parsing migration files', () => {
  it('locates statements by line and column past comments and multi-byte text', async () => {
    const parsed = await parseSql(
      "-- café ☕ header\n/* a /* nested */ comment */ SELECT 'é';\n\n   ALTER DATABASE x SET work_mem = '1MB';",
    );
    expect(parsed.ok && parsed.statements.map((s) => [s.type, s.line, s.col, s.sql])).toEqual([
      ['SelectStmt', 2, 30, "SELECT 'é'"],
      ['AlterDatabaseSetStmt', 4, 4, "ALTER DATABASE x SET work_mem = '1MB'"],
    ]);
  });

  it('locates a syntax error', async () => {
    const parsed = await parseSql('SELECT 1;\n-- ünïcode\n  SELEC 2;');
    expect(parsed).toMatchObject({ ok: false, position: { line: 3, col: 3 } });
  });

  it('${database}: quoted target name to run, a same-length stand-in to lint', () => {
    const sql = 'ALTER DATABASE ${database} SET work_mem = 1;';
    expect(forDatabase(sql, 'my "odd" db')).toBe('ALTER DATABASE "my ""odd"" db" SET work_mem = 1;');
    expect(forLint(sql)).toHaveLength(sql.length);
  });
});

describe('how a file runs', () => {
  it("a file's own BEGIN … COMMIT is stripped and run inside ours", async () => {
    const plan = await planFile('f.sql', "BEGIN;\nSET LOCAL lock_timeout = '5s';\nALTER DATABASE d SET work_mem = '1MB';\nCOMMIT;");
    expect(plan).toMatchObject({ transactional: true, reason: null });
    expect(plan.statements.map((s) => s.type)).toEqual(['VariableSetStmt', 'AlterDatabaseSetStmt']);
  });

  it('non-transactional statements, or transactions managed otherwise, run statement by statement', async () => {
    expect(
      await planFile('f.sql', 'CREATE TABLE t (a int);\nCREATE INDEX CONCURRENTLY i ON t (a);\nALTER SYSTEM SET work_mem = 1;'),
    ).toMatchObject({
      transactional: false,
      reason: 'CREATE INDEX CONCURRENTLY (line 2), ALTER SYSTEM (line 3) cannot run inside a transaction',
    });
    expect(await planFile('f.sql', 'BEGIN;\nSELECT 1;\nCOMMIT;\nBEGIN;\nSELECT 2;\nCOMMIT;')).toMatchObject({
      transactional: false,
      reason: 'the file manages its own transactions (line 1)',
    });
    expect(await planFile('f.sql', 'SELECT 1;')).toMatchObject({ transactional: true });
  });
});
