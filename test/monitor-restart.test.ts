import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startEmbedded, type EmbeddedServer } from '../src/pg/embedded.js';
import { tempDir } from './helpers.js';
import { isAlert, monitorPolicy, startMonitor } from './monitor-helpers.js';
import pg from 'pg';

/** An idle-in-transaction session on `url` (the server may end it: errors are swallowed). */
async function idleInTransaction(url: string): Promise<pg.Client & { pid: number }> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  const { rows } = await client.query('BEGIN; SELECT pg_backend_pid() AS pid').then((r) => (r as unknown as pg.QueryResult[])[1]);
  return Object.assign(client, { pid: rows[0].pid as number });
}

// Its OWN embedded server, in a temp dir: never the shared test server, never the system one.
describe('monitor resilience', () => {
  it('embedded server stopped and started under a running monitor: it recovers and alerts again', async () => {
    const dir = await tempDir('pgharden-restart-');
    const first = await startEmbedded(dir);
    let second: EmbeddedServer | null = null;
    const clients: pg.Client[] = [];
    try {
      await first.createDatabase('restart_db');
      const password = (await fs.readFile(path.join(dir, 'password'), 'utf8')).trim();
      const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${first.port}/restart_db`;
      const monitor = startMonitor(['--db', url, '--policy', await monitorPolicy(), '--interval', '200ms', '--reconnect-max', '1s']);
      try {
        const before = await idleInTransaction(url);
        clients.push(before);
        await monitor.waitFor(isAlert('firing', 'idle_in_transaction', before.pid), 30_000, 'the alert before the restart');

        await first.stop();
        const lost = await monitor.waitFor((r) => r.type === 'poll_failed' && r.connectionLost, 30_000, 'the lost connection');
        expect(lost.error).toBeTruthy();

        // The same data directory and port, as a service manager would restart it.
        second = await startEmbedded(dir, { port: first.port });
        await monitor.waitFor((r) => r.type === 'connected' && r.reconnected, 30_000, 'the reconnection');
        // The session that died with the server resolves; a new one fires again.
        await monitor.waitFor(isAlert('resolved', 'idle_in_transaction', before.pid), 30_000, 'the old alert resolving');
        const after = await idleInTransaction(url);
        clients.push(after);
        await monitor.waitFor(isAlert('firing', 'idle_in_transaction', after.pid), 30_000, 'the alert after the restart');
        expect(monitor.records.some((r) => r.type === 'sample' && r.at > lost.at)).toBe(true);
      } finally {
        for (const c of clients) await c.end().catch(() => undefined);
        expect(await monitor.stop()).toBe(0);
      }
    } finally {
      await (second ? second.stop() : first.stop()).catch(() => undefined);
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
