import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli, sql, tempDir, testServers } from './helpers.js';

const postgresProcessesFor = (dir: string) =>
  execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(dir) && !l.includes('ps -eo'));

describe('the embedded default (no --db, DATABASE_URL or PG* variables)', () => {
  it('starts, answers, says so on its first line, and stops leaving no process behind', async () => {
    const cwd = await tempDir();
    try {
      const result = await runCli(['status', '--json'], { cwd });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr.split('\n')[0]).toMatch(/using the embedded PostgreSQL in \.pgharden\/embedded\/ \(database codex_memory\)/);
      expect(result.json).toMatchObject({ ok: true, database: 'codex_memory' });
      const dataDir = path.join(cwd, '.pgharden/embedded/data');
      expect(await fs.readFile(path.join(dataDir, 'PG_VERSION'), 'utf8')).toMatch(/^18/);
      await expect(fs.stat(path.join(dataDir, 'postmaster.pid'))).rejects.toThrow();
      expect(postgresProcessesFor(dataDir)).toEqual([]);
      // The password file is private to the operator.
      expect((await fs.stat(path.join(cwd, '.pgharden/embedded/password'))).mode & 0o077).toBe(0);
    } finally {
      await fs.rm(cwd, { recursive: true, force: true });
    }
  });
});

describe('render', () => {
  it('the committed 009 migration pair is what the default policy renders against a fresh database', async () => {
    // Only the embedded test server is private to this run (and has room for a limit of 200).
    const [server] = testServers();
    await sql(server, 'CREATE DATABASE codex_memory');
    const out = await tempDir();
    try {
      const url = new URL(server.url);
      url.pathname = '/codex_memory';
      const result = await runCli(['render', '--db', url.toString(), '--out', out]);
      expect(result.code, result.stderr).toBe(0);
      for (const file of ['009_security_hardening.sql', '009_security_hardening_rollback.sql']) {
        const committed = await fs.readFile(path.join(ROOT, 'migration/migrations', file), 'utf8');
        expect(await fs.readFile(path.join(out, file), 'utf8'), `${file} is stale: run \`pgharden render\` on a fresh codex_memory`).toBe(committed);
      }
    } finally {
      await sql(server, 'DROP DATABASE IF EXISTS codex_memory WITH (FORCE)');
      await fs.rm(out, { recursive: true, force: true });
    }
  });
});
