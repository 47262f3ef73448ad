import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { inject } from 'vitest';
import { fromUrl, withDatabase, type Target } from '../src/pg/target.js';
import { quoteIdent } from '../src/pg/quote.js';

/**
 * Skip a test whose tool (chromium, tmux, pgbouncer, prometheus…) is missing, on a developer's machine
 * only: in CI (`CI` set; .ci/run sets it and installs them all) the test runs and fails instead.
 */
export const skipWithout = (present: boolean): boolean => !present && !process.env.CI;

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const CLI = path.join(ROOT, 'dist/cli/main.js');

export interface TestServer {
  name: string;
  /** URL of the server's `postgres` database. */
  url: string;
}

/** The embedded PostgreSQL 18 always; the system server too when PGHARDEN_TEST_URL is set. */
export function testServers(): TestServer[] {
  const servers = [{ name: 'embedded', url: inject('embeddedUrl') }];
  if (process.env.PGHARDEN_TEST_URL) servers.push({ name: 'system', url: process.env.PGHARDEN_TEST_URL });
  return servers;
}

export function urlFor(server: TestServer, database: string): string {
  const u = new URL(server.url);
  u.pathname = '/' + encodeURIComponent(database);
  return u.toString();
}

export function targetFor(server: TestServer, database: string): Target {
  return withDatabase(fromUrl(server.url, '--db'), database);
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/** Run `sql` on the server's `postgres` database (or another) with a plain client. */
export async function sql<T = Record<string, unknown>>(
  server: TestServer,
  text: string,
  params: unknown[] = [],
  database = 'postgres',
): Promise<T[]> {
  const client = new pg.Client(targetFor(server, database).config);
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** A fresh database for one test, dropped (with its sessions) afterwards. */
export async function withDatabase_<T>(server: TestServer, name: string, fn: (db: string) => Promise<T>): Promise<T> {
  await sql(server, `CREATE DATABASE ${quoteIdent(name)}`);
  try {
    return await fn(name);
  } finally {
    await sql(server, `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
  }
}
export { withDatabase_ as withTestDatabase };

/** pg_db_role_setting for a database (database level) and its connection limit: what rollback must restore. */
export async function snapshot(server: TestServer, database: string) {
  const [row] = await sql<{ setconfig: string[] | null; connlimit: number }>(
    server,
    `SELECT (SELECT setconfig FROM pg_db_role_setting s WHERE s.setdatabase = d.oid AND s.setrole = 0) AS setconfig,
            d.datconnlimit AS connlimit
       FROM pg_database d WHERE datname = $1`,
    [database],
  );
  const roles = await sql<{ role: string; setconfig: string[] }>(
    server,
    `SELECT r.rolname AS role, s.setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
      WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = $1) ORDER BY 1`,
    [database],
  );
  return { setconfig: [...(row.setconfig ?? [])].sort(), connlimit: row.connlimit, roles };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  json: any;
}

/** A scratch working directory: run folders and any embedded data land here, not in the repository. */
export async function tempDir(prefix = 'pgharden-cwd-'): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  await fs.chmod(dir, 0o755);
  return dir;
}

const scratch = tempDir();

/** Run the built CLI as a user would, with no libpq variables leaking in from the test environment. */
export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^PG|^DATABASE_URL$/.test(k)) env[k] = v;
  return scratch.then(
    (cwd) =>
      new Promise((resolve) => {
        execFile(
          process.execPath,
          [CLI, ...args],
          { cwd: opts.cwd ?? cwd, env: { ...env, ...opts.env, NO_COLOR: '1' }, timeout: 300_000 },
          (err, stdout, stderr) => {
            let json: unknown = null;
            try {
              json = JSON.parse(stdout);
            } catch {
              /* not --json */
            }
            resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr, json });
          },
        );
      }),
  );
}

/** A policy file in a temp folder. */
export async function policyFile(yaml: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgharden-policy-'));
  const file = path.join(dir, 'policy.yaml');
  await fs.writeFile(file, yaml);
  return file;
}

/** The test policy: the runbook's settings with short timeouts and a limit every test server can hold. */
export const TEST_POLICY = `
settings:
  statement_timeout: 2s
  idle_in_transaction_session_timeout: 3s
  work_mem: 256MB
  log_min_duration_statement: 1s
connection_limit: 20
guard_window: 10s
`;
