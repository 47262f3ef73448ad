import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startEmbedded } from '../src/pg/embedded.js';
import { ROOT, runCli, snapshot, sql, tempDir, testServers, urlFor, type TestServer } from './helpers.js';

const DIR = path.join(ROOT, 'migration/migrations');
const DB = 'codex_memory';

/**
 * The committed 009 pair hard-codes codex_memory, so it must run on a database of that name.
 * Embedded: a private server in a scratch directory, joined by the CLI with --embedded,
 * because the shared test server's codex_memory belongs to the render test. System: codex_memory
 * on that server, created for the test (waiting while another run holds it) and dropped after.
 */
async function onCodexMemory(server: TestServer, fn: (where: { server: TestServer; args: string[]; cwd?: string }) => Promise<void>) {
  if (server.name === 'embedded') {
    const cwd = await tempDir();
    const embedded = await startEmbedded(path.join(cwd, '.pgharden/embedded'));
    try {
      await embedded.createDatabase(DB);
      const c = embedded.target('postgres').config;
      const own = { name: 'private embedded', url: `postgres://${c.user}:${encodeURIComponent(String(c.password))}@127.0.0.1:${embedded.port}/postgres` };
      await fn({ server: own, args: ['--embedded'], cwd });
    } finally {
      await embedded.stop();
      await fs.rm(cwd, { recursive: true, force: true });
    }
    return;
  }
  for (let waited = 0; ; waited += 500) {
    try {
      await sql(server, `CREATE DATABASE ${DB}`);
      break;
    } catch (err) {
      if ((err as { code?: string }).code !== '42P04' || waited > 60_000) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    await fn({ server, args: ['--db', urlFor(server, DB)] });
  } finally {
    await sql(server, `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  }
}

describe.each(testServers())("the repository's migration/migrations on $name PostgreSQL", (testServer) => {
  it('lints clean, runs 009 up (its own BEGIN/COMMIT not nested) and down, back to exactly the prior state', async () => {
    await onCodexMemory(testServer, async ({ server, args, cwd }) => {
      const cli = (a: string[]) => runCli(['migrate', ...a, ...args, '--dir', DIR, '--json'], { cwd });
      const before = await snapshot(server, DB);

      const lint = await cli(['lint']);
      expect(lint.code, lint.stdout).toBe(0);
      // Without --db, lint stays offline (it never starts a server); `up` lints connected before running.
      expect(lint.json).toMatchObject({ connected: args.length > 0, errors: 0 });

      const up = await cli(['up']);
      expect(up.code, up.stderr).toBe(0);
      if (!args.length) expect(up.stderr.split('\n')[0]).toMatch(/using the embedded PostgreSQL in \.pgharden\/embedded\/ \(database codex_memory\)/);
      expect(up.json.steps).toEqual([expect.objectContaining({ version: 9, migration: '009_security_hardening', transactional: true })]);
      expect(up.json.steps[0].statements[0]).toBe("SET LOCAL lock_timeout = '5s'");
      const hardened = await snapshot(server, DB);
      expect(hardened.connlimit).toBe(200);
      expect(hardened.setconfig).toEqual([
        'idle_in_transaction_session_timeout=60s', 'log_min_duration_statement=1s', 'statement_timeout=30s', 'work_mem=256MB',
      ]);

      const status = await cli(['status']);
      expect(status.json.rows).toEqual([expect.objectContaining({ version: 9, state: 'applied', hasRollback: true, transactional: true })]);

      const down = await cli(['down']);
      expect(down.code, down.stderr).toBe(0);
      expect(down.json.steps.map((s: { migration: string }) => s.migration)).toEqual(['009_security_hardening']);
      expect(await snapshot(server, DB)).toEqual(before);
      expect(await sql(server, 'SELECT count(*)::int AS n FROM pgharden.schema_migrations', [], DB)).toEqual([{ n: 0 }]);
    });
  });
});
