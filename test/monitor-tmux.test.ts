import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CLI, skipWithout, sql, tempDir, testServers, uniqueName, urlFor, withTestDatabase } from './helpers.js';
import { session } from './monitor-helpers.js';

const run = promisify(execFile);

function hasTmux(): boolean {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
// In CI (.ci/run installs tmux) a missing tmux fails the test below: only a developer's machine skips.
const skip = skipWithout(hasTmux());

/** A tmux server of the test's own (its own socket), so nobody else's sessions are touched. */
function tmux(socket: string) {
  const t = (...args: string[]) => run('tmux', ['-L', socket, ...args]);
  return {
    t,
    capture: async () => (await t('capture-pane', '-p', '-t', 'mon')).stdout,
    keys: (...keys: string[]) => t('send-keys', '-t', 'mon', ...keys),
    async waitFor(pred: (screen: string) => boolean, what: string, timeoutMs = 20_000): Promise<string> {
      const end = Date.now() + timeoutMs;
      let screen = '';
      while (Date.now() < end) {
        screen = await (async () => (await t('capture-pane', '-p', '-t', 'mon')).stdout)().catch(() => screen);
        if (pred(screen)) return screen;
        await new Promise((r) => setTimeout(r, 150));
      }
      throw new Error(`timed out waiting for ${what}; the pane shows:\n${screen}`);
    },
  };
}

describe.each(testServers())('live view in tmux on $name PostgreSQL', (server) => {
  it.skipIf(skip)(
    'b shows the waiter under its blocker; selecting it and c, y cancels its query (57014)',
    async () => {
      await withTestDatabase(server, uniqueName('mon_tmux'), async (db) => {
        await sql(server, 'CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 0)', [], db);
        const dir = await tempDir('pgharden-tmux-');
        const script = path.join(dir, 'monitor.sh');
        // No PG* variables in the pane: the server is named by --db only.
        await fs.writeFile(
          script,
          `#!/bin/sh\nfor v in $(env | grep -o '^PG[A-Z_]*'); do unset "$v"; done\nunset DATABASE_URL\n` +
            `export NO_COLOR=1\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} monitor --db '${urlFor(server, db)}' --interval 300ms\n`,
          { mode: 0o755 },
        );
        const socket = `pgharden-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
        const pane = tmux(socket);
        const holder = await session(server, db, 'lock-holder');
        const waiter = await session(server, db, 'lock-waiter');
        let waiting: Promise<unknown> | null = null;
        try {
          await pane.t('new-session', '-d', '-s', 'mon', '-x', '220', '-y', '50', script);
          await pane.waitFor((s) => /pgharden monitor — /.test(s) && /PID/.test(s), 'the live view');

          await holder.query('BEGIN');
          await holder.query('UPDATE t SET v = 1 WHERE id = 1');
          waiting = waiter.query('UPDATE t SET v = 2 WHERE id = 1').then(
            () => null,
            (err) => err,
          );
          await pane.waitFor((s) => s.includes(` ${waiter.pid} `), 'the waiting session listed');

          await pane.keys('b');
          const tree = await pane.waitFor((s) => /blocking tree/.test(s) && new RegExp(`└─ ${waiter.pid}\\b`).test(s), 'the blocking tree');
          const lines = tree.split('\n');
          const blockerLine = lines.findIndex((l) => new RegExp(`^[> ] +${holder.pid} `).test(l));
          expect(blockerLine, tree).toBeGreaterThan(-1);
          expect(lines[blockerLine + 1], tree).toMatch(new RegExp(`^  +└─ ${waiter.pid} +\\S+ +lock-waiter +active .*Lock:transactionid`));

          await pane.keys('Down');
          await pane.waitFor((s) => new RegExp(`^> +└─ ${waiter.pid}\\b`, 'm').test(s), 'the waiter selected');
          await pane.keys('c');
          await pane.waitFor((s) => s.includes(`Cancel the query of pid ${waiter.pid}`), 'the confirmation');
          // Not cancelled before y: it still waits.
          expect(await sql(server, 'SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1', [waiter.pid])).toEqual([
            { wait_event_type: 'Lock' },
          ]);
          await pane.keys('y');
          const err = (await waiting) as { code?: string } | null;
          expect(err?.code).toBe('57014');
          await pane.waitFor((s) => s.includes(`cancel sent to pid ${waiter.pid}`), 'the outcome');
          // The blocker is untouched: still in its transaction.
          expect(await sql(server, 'SELECT state FROM pg_stat_activity WHERE pid = $1', [holder.pid])).toEqual([
            { state: 'idle in transaction' },
          ]);

          await pane.keys('q');
          await pane.waitFor((s) => !/pgharden monitor — /.test(s), 'the view to close', 10_000).catch(() => undefined);
        } finally {
          await pane.t('kill-server').catch(() => undefined);
          await holder.end().catch(() => undefined);
          await waiter.end().catch(() => undefined);
          await waiting;
        }
      });
    },
    90_000,
  );
});
