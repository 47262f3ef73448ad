import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { skipWithout, type TestServer } from './helpers.js';

/** Debian's PgBouncer (apt-get install pgbouncer); PGBOUNCER_PATH overrides. */
export const PGBOUNCER =
  process.env.PGBOUNCER_PATH ?? ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].find((p) => fs.existsSync(p)) ?? '/usr/sbin/pgbouncer';

/** In CI (.ci/run installs pgbouncer and says so) a missing binary fails the tests; only a developer's machine skips. */
export const skipPgBouncer = skipWithout(fs.existsSync(PGBOUNCER));

export interface PgBouncer {
  port: number;
  /** Its admin console (database pgbouncer). */
  adminUrl: string;
  /** A database through PgBouncer, as an application connects. */
  url(database: string): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * A PgBouncer of our own on a free port in front of the test server: trust for clients (the
 * login must still be in auth_file, which also gives PgBouncer the password for the server),
 * the test login as admin. PgBouncer refuses to run as root: then it drops to `nobody` (-u),
 * in a directory that user can write.
 */
export async function startPgBouncer(server: TestServer, mode: 'session' | 'transaction'): Promise<PgBouncer> {
  const u = new URL(server.url);
  const user = decodeURIComponent(u.username || 'postgres');
  const password = decodeURIComponent(u.password);
  const port = await freePort();
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pgharden-pgbouncer-'));
  const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
  await fsp.writeFile(path.join(dir, 'users.txt'), `${q(user)} ${q(password)}\n`);
  await fsp.writeFile(
    path.join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${u.hostname} port=${u.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${path.join(dir, 'users.txt')}`,
      `admin_users = ${user}`,
      `pool_mode = ${mode}`,
      'default_pool_size = 10',
      `logfile = ${path.join(dir, 'pgbouncer.log')}`,
      '',
    ].join('\n'),
  );
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'nobody']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'nobody']).toString().trim());
    for (const f of ['', 'users.txt', 'pgbouncer.ini']) await fsp.chown(path.join(dir, f), uid, gid);
  }
  const child: ChildProcess = spawn(PGBOUNCER, [...(asRoot ? ['-u', 'nobody'] : []), path.join(dir, 'pgbouncer.ini')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const adminUrl = `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/pgbouncer?sslmode=disable`;
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    await fsp.rm(dir, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    const c = new pg.Client({ connectionString: adminUrl });
    c.on('error', () => undefined);
    try {
      await c.connect();
      await c.end();
      break;
    } catch (err) {
      await c.end().catch(() => undefined);
      if (child.exitCode !== null || i > 100) {
        const log = await fsp.readFile(path.join(dir, 'pgbouncer.log'), 'utf8').catch(() => '');
        await stop();
        throw new Error(`pgbouncer did not start: ${(err as Error).message}\n${stderr}\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    port,
    adminUrl,
    url: (database) =>
      `postgres://${encodeURIComponent(user)}${password ? `:${encodeURIComponent(password)}` : ''}@127.0.0.1:${port}/${encodeURIComponent(database)}?sslmode=disable`,
    stop,
  };
}

/** One client through PgBouncer, as an application: what it sees, and which server backend served it. */
export async function throughPooler(
  url: string,
  sqlText = `SELECT current_setting('statement_timeout') AS value, pg_backend_pid() AS pid`,
): Promise<{ value: string; pid: number }> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return (await c.query(sqlText)).rows[0];
  } finally {
    await c.end();
  }
}
