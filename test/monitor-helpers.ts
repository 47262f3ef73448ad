import { spawn } from 'node:child_process';
import readline from 'node:readline';
import pg from 'pg';
import { CLI, policyFile, tempDir, targetFor, type TestServer } from './helpers.js';

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
  const child = spawn(process.execPath, [CLI, 'monitor', '--jsonl', '-', ...args], { env: { ...env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
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
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
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
          reject(new Error(`timed out after ${timeoutMs}ms waiting for ${what}; stderr: ${stderr}\nlast records: ${records.slice(-3).map((r) => JSON.stringify(r).slice(0, 300)).join('\n')}`));
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

export const isAlert = (state: 'firing' | 'resolved', rule: string, pid?: number) => (r: Record_) =>
  r.type === 'alert' && r.state === state && r.rule === rule && (pid === undefined || r.pid === pid);

export { tempDir };
