import { spawn } from 'node:child_process';
import net from 'node:net';
import readline from 'node:readline';
import pg from 'pg';
import { CLI, policyFile, sql, tempDir, targetFor, type TestServer } from './helpers.js';

/** Short thresholds so the alert tests finish in seconds. */
export const MONITOR_POLICY = `
alerts:
  long_query:          { over: 2s, severity: critical }
  idle_in_transaction: { over: 1s, severity: warning }
  connections:         { over: 80%, severity: info }
`;

export const monitorPolicy = () => policyFile(MONITOR_POLICY);

export type Record_ = Record<string, any>;

export interface RunningMonitor {
  records: Record_[];
  /** Resolves with the first record (past or future) matching `pred`. */
  waitFor(pred: (r: Record_) => boolean, timeoutMs: number, what: string): Promise<Record_>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
  stderr(): string;
}

/** `pgharden monitor --jsonl - …` as a child process, its JSON lines collected as they come. */
export function startMonitor(args: string[]): RunningMonitor {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^PG|^DATABASE_URL$/.test(k)) env[k] = v;
  const child = spawn(process.execPath, [CLI, 'monitor', '--jsonl', '-', ...args], {
    env: { ...env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const records: Record_[] = [];
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stderr.on('data', (d) => (stderr += d));
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      records.push(JSON.parse(line));
    } catch {
      stderr += `(not JSON) ${line}\n`;
    }
    for (const w of waiters) w();
  });
  let exitedWith = '';
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code, signal) => {
      exitedWith = `; the monitor had exited (code ${code}, signal ${signal})`;
      resolve(code);
    }),
  );
  return {
    records,
    waitFor(pred, timeoutMs, what) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = records.find(pred);
          if (!found) return;
          cleanup();
          resolve(found);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `timed out after ${timeoutMs}ms waiting for ${what}${exitedWith}; stderr: ${stderr}\nlast records: ${records
                .slice(-3)
                .map((r) => JSON.stringify(r).slice(0, 300))
                .join('\n')}`,
            ),
          );
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
    stderr: () => stderr,
  };
}

/** A client session on the test database (errors swallowed: the server may end it on purpose). */
export async function session(server: TestServer, db: string, appName = 'monitor-test'): Promise<pg.Client & { pid: number }> {
  const client = new pg.Client({ ...targetFor(server, db).config, application_name: appName });
  client.on('error', () => undefined);
  await client.connect();
  const { rows } = await client.query('SELECT pg_backend_pid() AS pid');
  return Object.assign(client, { pid: rows[0].pid as number });
}

/**
 * Wait until a session has been in its current state (running its query, idle in transaction) for `ms`
 * by the server's clock: a fixed sleep after sending the query is not enough when a loaded machine starts it late.
 */
export async function inStateFor(server: TestServer, pid: number, ms: number): Promise<void> {
  for (;;) {
    const [row] = await sql<{ ms: number | null }>(
      server,
      'SELECT (extract(epoch FROM clock_timestamp() - state_change) * 1000)::float8 AS ms FROM pg_stat_activity WHERE pid = $1',
      [pid],
    );
    if (!row) throw new Error(`session ${pid} has gone`);
    if ((row.ms ?? 0) >= ms) return;
    await new Promise((r) => setTimeout(r, Math.min(200, ms - (row.ms ?? 0))));
  }
}

export const isAlert = (state: 'firing' | 'resolved', rule: string, pid?: number) => (r: Record_) =>
  r.type === 'alert' && r.state === state && r.rule === rule && (pid === undefined || r.pid === pid);

export { tempDir };

/**
 * A TCP proxy to the server whose cut() silently drops everything on the connections open
 * at that moment (no FIN, no RST), as a failed link or a NAT losing its state does; new
 * connections go through again.
 */
export async function droppingProxy(server: TestServer): Promise<{ port: number; cut(): void; close(): Promise<void> }> {
  const upstream = new URL(server.url);
  const open = new Set<{ dropped: boolean; sockets: net.Socket[] }>();
  const proxy = net.createServer((client) => {
    const remote = net.connect(Number(upstream.port || 5432), upstream.hostname);
    const link = { dropped: false, sockets: [client, remote] };
    open.add(link);
    client.on('data', (d) => link.dropped || remote.write(d));
    remote.on('data', (d) => link.dropped || client.write(d));
    for (const s of link.sockets) {
      s.on('error', () => undefined);
      s.on('close', () => {
        open.delete(link);
        for (const other of link.sockets) if (!link.dropped) other.destroy();
      });
    }
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  return {
    port: (proxy.address() as net.AddressInfo).port,
    cut: () => open.forEach((link) => (link.dropped = true)),
    close: async () => {
      for (const link of open) for (const s of link.sockets) s.destroy();
      await new Promise((r) => proxy.close(r));
    },
  };
}
