import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli, snapshot, sql, tempDir, testServers, uniqueName, urlFor, withTestDatabase } from './helpers.js';

const DIR = path.join(ROOT, 'migration/migrations');
const run = promisify(execFile);

/** The real psql when installed (Debian's postgresql-client): the files must run under `psql -f` too. */
async function psqlFile(url: string, file: string): Promise<{ code: number; stderr: string } | null> {
  try {
    await run('psql', ['--version']);
  } catch {
    return null;
  }
  try {
    await run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, '-f', file]);
    return { code: 0, stderr: '' };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: Number(e.code), stderr: e.stderr ?? '' };
  }
}

describe.each(testServers())("the repository's migration/migrations on $name PostgreSQL", (server) => {
  it('lints clean offline and connected, runs 009 up (psql\'s :"DBNAME" is the target) and down, back to exactly the prior state', async () => {
    await withTestDatabase(server, uniqueName('m009'), async (db) => {
      const cli = (a: string[]) => runCli(['migrate', ...a, '--db', urlFor(server, db), '--dir', DIR, '--json']);
      const before = await snapshot(server, db);

      // No database name is written in the files any more: nothing for hard-coded-database to flag.
      const offline = await runCli(['migrate', 'lint', '--dir', DIR, '--json']);
      expect(offline.json, offline.stderr).toMatchObject({ connected: false, errors: 0 });
      expect(offline.json.diagnostics.map((d: { rule: string }) => d.rule)).not.toContain('hard-coded-database');
      const lint = await cli(['lint']);
      expect(lint.json).toMatchObject({ connected: true, errors: 0 });

      const up = await cli(['up']);
      expect(up.code, up.stderr).toBe(0);
      expect(up.json.steps).toEqual([expect.objectContaining({ version: 9, migration: '009_security_hardening', transactional: true })]);
      expect(up.json.steps[0].statements[0]).toBe("SET LOCAL lock_timeout = '5s'");
      expect(up.json.steps[0].statements.join('\n')).toContain(`ALTER DATABASE "${db}" SET statement_timeout = '30s'`);
      const hardened = await snapshot(server, db);
      expect(hardened.connlimit).toBe(200);
      expect(hardened.setconfig).toEqual([
        'idle_in_transaction_session_timeout=60s',
        'log_min_duration_statement=1s',
        'statement_timeout=30s',
        'work_mem=256MB',
      ]);

      const status = await cli(['status']);
      expect(status.json.rows).toEqual([expect.objectContaining({ version: 9, state: 'applied', hasRollback: true, transactional: true })]);

      const down = await cli(['down']);
      expect(down.code, down.stderr).toBe(0);
      expect(await snapshot(server, db)).toEqual(before);
      expect(await sql(server, 'SELECT count(*)::int AS n FROM pgharden.schema_migrations', [], db)).toEqual([{ n: 0 }]);
    });
  });

  it('refuses to run where the values before are not those its rollback restores (it would RESET work_mem = 64MB), changing nothing', async () => {
    await withTestDatabase(server, uniqueName('m009demo'), async (db) => {
      await sql(server, `ALTER DATABASE "${db}" SET work_mem = '64MB'`);
      const before = await snapshot(server, db);
      const up = await runCli(['migrate', 'up', '--db', urlFor(server, db), '--dir', DIR]);
      expect(up.code, up.stderr).toBe(5);
      expect(up.stderr).toMatch(
        /the values before this migration are not those its rollback restores: work_mem is '64MB', captured not set/,
      );
      expect(up.stderr).toMatch(/HINT: the rollback was rendered from another state; run pgharden render again on this database/);
      expect(await snapshot(server, db)).toEqual(before);

      const viaPsql = await psqlFile(urlFor(server, db), path.join(DIR, '009_security_hardening.sql'));
      if (viaPsql) {
        expect(viaPsql.code).not.toBe(0);
        expect(viaPsql.stderr).toMatch(/work_mem is '64MB', captured not set/);
        expect(await snapshot(server, db)).toEqual(before);
      }
    });
  });

  it('rendered on that database, the pair restores work_mem = 64MB under migrate down and under psql -f', async () => {
    await withTestDatabase(server, uniqueName('m009render'), async (db) => {
      await sql(server, `ALTER DATABASE "${db}" SET work_mem = '64MB'`);
      const before = await snapshot(server, db);
      const out = await tempDir('pgharden-render-');
      const policy = path.join(out, 'p.yaml');
      await fs.writeFile(policy, 'settings:\n  statement_timeout: 30s\n  work_mem: 256MB\nconnection_limit: 50\n');
      const url = urlFor(server, db);
      const render = await runCli(['render', '--db', url, '--policy', policy, '--out', out, '--name', '001_harden']);
      expect(render.code, render.stderr).toBe(0);
      const rollback = await fs.readFile(path.join(out, '001_harden_rollback.sql'), 'utf8');
      expect(rollback).toContain(`ALTER DATABASE :"DBNAME" SET work_mem = '64MB';`);
      expect(rollback).toContain('ALTER DATABASE :"DBNAME" RESET statement_timeout;');
      expect(rollback).not.toMatch(/RESET work_mem/);

      const migrate = (verb: string) => runCli(['migrate', verb, '--db', url, '--dir', out]);
      expect((await migrate('up')).code).toBe(0);
      expect((await snapshot(server, db)).setconfig).toEqual(['statement_timeout=30s', 'work_mem=256MB']);
      expect((await migrate('down')).code).toBe(0);
      expect(await snapshot(server, db)).toEqual(before);

      const forward = await psqlFile(url, path.join(out, '001_harden.sql'));
      if (forward) {
        expect(forward.code, forward.stderr).toBe(0);
        expect((await snapshot(server, db)).connlimit).toBe(50);
        expect((await psqlFile(url, path.join(out, '001_harden_rollback.sql')))!.code).toBe(0);
        expect(await snapshot(server, db)).toEqual(before);
      }
    });
  });
});
