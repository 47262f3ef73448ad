import fs from 'node:fs/promises';
import { spawn } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startEmbedded, type EmbeddedServer } from '../src/pg/embedded.js';
import { CLI, TEST_POLICY, policyFile, tempDir } from './helpers.js';

async function query(url: string, text: string) {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return (await c.query(text)).rows;
  } finally {
    await c.end();
  }
}

// Its own embedded server, restarted under a running `run`: never the shared test servers.
describe('a server restart during the guard window', () => {
  it('the run reconnects, takes the change lock again, and decides on data: it passes, with the hardening in force', async () => {
    const dir = await tempDir('pgharden-run-restart-');
    let server: EmbeddedServer = await startEmbedded(dir);
    try {
      await server.createDatabase('restart_run');
      const password = (await fs.readFile(path.join(dir, 'password'), 'utf8')).trim();
      const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${server.port}/restart_run`;
      const policy = await policyFile(TEST_POLICY);
      const child = spawn(
        process.execPath,
        [CLI, 'run', '--db', url, '--policy', policy, '--yes', '--no-probes', '--window', '10s', '--json'],
        { cwd: dir },
      );
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      for (let i = 0; i < 300; i++) {
        const rows = await query(url, `SELECT 1 FROM pgharden.runs WHERE status = 'guarding'`).catch(() => []);
        if (rows.length) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const port = server.port;
      await server.stop();
      server = await startEmbedded(dir, { port });
      expect(await exited, err).toBe(0);
      const result = JSON.parse(out);
      expect(result.outcome).toBe('passed');
      expect(err).toMatch(/lost its database session; reconnecting/);
      const [run] = await query(url, `SELECT status FROM pgharden.runs WHERE id = '${result.runId}'`);
      expect(run.status).toBe('passed');
      // The lock was released at the end: another change can take it at once.
      const [lock] = await query(url, `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted`);
      expect(lock.n).toBe(0);
    } finally {
      await server.stop().catch(() => undefined);
      await fs.rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    }
  });
});
