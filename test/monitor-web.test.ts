import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/pg/embedded.js';
import { runCli, tempDir, testServers, uniqueName, urlFor, withTestDatabase } from './helpers.js';
import { session, startMonitor } from './monitor-helpers.js';

const run = promisify(execFile);

/** A self-signed certificate for 127.0.0.1 (as test/tls-server.ts makes them), in a temp dir. */
async function selfSigned(): Promise<{ dir: string; cert: string; key: string }> {
  const dir = await tempDir('pgharden-web-');
  await fs.writeFile(path.join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  await run(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      'key.pem',
      '-out',
      'cert.pem',
    ],
    { cwd: dir },
  );
  return { dir, cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
}

function get(
  url: string,
  opts: { ca?: Buffer; method?: string; auth?: string } = {},
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: opts.method ?? 'GET',
        ca: opts.ca,
        headers: opts.auth ? { authorization: `Basic ${Buffer.from(opts.auth).toString('base64')}` } : {},
      },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d)).on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
      },
    );
    req.on('error', reject).end();
  });
}

async function hasBcrypt(): Promise<boolean> {
  const name = 'bcryptjs';
  return import(name).then(
    () => true,
    () => false,
  );
}

let certs: Awaited<ReturnType<typeof selfSigned>>;
beforeAll(async () => {
  certs = await selfSigned();
});

describe('--web-config (exporter-toolkit format), without a database', () => {
  it('refuses a bad web config with exit 2 and a clear reason, before serving anything', async () => {
    const bad = async (yaml: string) => {
      const file = path.join(certs.dir, `bad-${Math.random().toString(36).slice(2)}.yml`);
      await fs.writeFile(file, yaml);
      return runCli([
        'monitor',
        '--db',
        'postgres://nobody@127.0.0.1:1/none',
        '--prometheus',
        String(await freePort()),
        '--web-config',
        file,
        '--plain',
      ]);
    };
    const unknown = await bad('tls_server_config: { cert_file: cert.pem, key_file: key.pem, min_version: TLS13 }\n');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/tls_server_config\.min_version is not supported/);
    const missing = await bad('tls_server_config: { cert_file: nope.pem, key_file: key.pem }\n');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cert_file: .*no such file/i);
    const notHash = await bad('basic_auth_users: { prometheus: plaintext }\n');
    expect(notHash.code).toBe(2);
    expect(notHash.stderr).toMatch(/basic_auth_users\.prometheus: not a bcrypt hash/);
    const noProm = await runCli(['monitor', '--db', 'postgres://nobody@127.0.0.1:1/none', '--web-config', certs.cert, '--plain']);
    expect(noProm.code).toBe(2);
    expect(noProm.stderr).toMatch(/--web-config configures the --prometheus endpoint/);
  });

  it('basic_auth_users without the bcryptjs package says so (exit 2)', async () => {
    if (await hasBcrypt()) return;
    const file = path.join(certs.dir, 'auth.yml');
    await fs.writeFile(file, `basic_auth_users: { prometheus: '$2b$10$${'a'.repeat(53)}' }\n`);
    const r = await runCli([
      'monitor',
      '--db',
      'postgres://nobody@127.0.0.1:1/none',
      '--prometheus',
      String(await freePort()),
      '--web-config',
      file,
      '--plain',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/needs the bcryptjs package/);
  });
});

describe.each(testServers())('/metrics over TLS, and --all-databases, on $name PostgreSQL', (server) => {
  it('serves /metrics over TLS from tls_server_config (GET and HEAD); plain HTTP gets no metrics', async () => {
    await withTestDatabase(server, uniqueName('mon_tls'), async (db) => {
      const file = path.join(certs.dir, 'web.yml');
      await fs.writeFile(file, 'tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n'); // relative to the file
      const port = await freePort();
      const monitor = startMonitor(['--db', urlFor(server, db), '--interval', '300ms', '--prometheus', String(port), '--web-config', file]);
      try {
        await monitor.waitFor((r) => r.type === 'sample', 30_000, 'a first sample');
        expect(monitor.stderr()).toMatch(new RegExp(`serving https://127\\.0\\.0\\.1:${port}/metrics`));
        const ca = await fs.readFile(certs.cert);
        const got = await get(`https://127.0.0.1:${port}/metrics`, { ca });
        expect(got.status).toBe(200);
        expect(got.body).toMatch(/^pg_up 1$/m);
        const head = await get(`https://127.0.0.1:${port}/metrics`, { ca, method: 'HEAD' });
        expect(head.status).toBe(200);
        expect(head.body).toBe('');
        expect(Number(head.headers['content-length'])).toBeGreaterThan(100);
        await expect(get(`https://127.0.0.1:${port}/metrics`)).rejects.toThrow(/self[- ]signed|certificate/i); // an unknown CA is refused
        const plain = await fetch(`http://127.0.0.1:${port}/metrics`).then(
          (r) => r.text(),
          (e) => `error ${e}`,
        );
        expect(plain).not.toMatch(/pg_up/);
      } finally {
        await monitor.stop();
      }
    });
  }, 60_000);

  it('basic_auth_users: 401 without or with wrong credentials, 200 with the right ones (needs bcryptjs)', async () => {
    if (!(await hasBcrypt())) return; // the package is pending (see README): the refusal is tested above
    const name = 'bcryptjs';
    const bcrypt = ((await import(name)) as { default: { hashSync(p: string, r: number): string } }).default;
    await withTestDatabase(server, uniqueName('mon_auth'), async (db) => {
      const file = path.join(certs.dir, 'auth-tls.yml');
      await fs.writeFile(
        file,
        `tls_server_config: { cert_file: cert.pem, key_file: key.pem }\nbasic_auth_users:\n  prometheus: '${bcrypt.hashSync('scrape-secret', 4)}'\n`,
      );
      const port = await freePort();
      const monitor = startMonitor(['--db', urlFor(server, db), '--interval', '300ms', '--prometheus', String(port), '--web-config', file]);
      try {
        await monitor.waitFor((r) => r.type === 'sample', 30_000, 'a first sample');
        const ca = await fs.readFile(certs.cert);
        const url = `https://127.0.0.1:${port}/metrics`;
        expect((await get(url, { ca })).status).toBe(401);
        expect((await get(url, { ca, auth: 'prometheus:wrong' })).status).toBe(401);
        expect((await get(url, { ca, auth: 'someone:scrape-secret' })).status).toBe(401);
        const ok = await get(url, { ca, auth: 'prometheus:scrape-secret' });
        expect(ok.status).toBe(200);
        expect(ok.body).toMatch(/^pg_up 1$/m);
      } finally {
        await monitor.stop();
      }
    });
  }, 60_000);

  it('--all-databases: one poll labels every database by datname; the default shows only the --db database', async () => {
    await withTestDatabase(server, uniqueName('mon_all_a'), async (dbA) => {
      await withTestDatabase(server, uniqueName('mon_all_b'), async (dbB) => {
        const other = await session(server, dbB, 'in-db-b');
        await other.query('BEGIN');
        await other.query('SELECT 1');
        const series = async (args: string[]) => {
          const port = await freePort();
          const monitor = startMonitor(['--db', urlFor(server, dbA), '--interval', '300ms', '--prometheus', String(port), ...args]);
          try {
            await monitor.waitFor((r) => r.type === 'sample', 30_000, 'a first sample');
            return await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
          } finally {
            await monitor.stop();
          }
        };
        try {
          const all = await series(['--all-databases']);
          expect(all).toMatch(
            new RegExp(
              `^pg_stat_activity_count\\{datname="${dbB}",state="idle in transaction",usename="[^"]+",application_name="in-db-b",backend_type="client backend",wait_event_type="Client",wait_event="ClientRead"\\} 1$`,
              'm',
            ),
          );
          expect(all).toMatch(new RegExp(`^pg_stat_activity_count\\{datname="${dbA}",state="active",`, 'm'));
          expect(all).toMatch(new RegExp(`^pg_stat_database_xact_commit\\{datname="${dbB}"\\} \\d+`, 'm'));
          expect(all).toMatch(new RegExp(`^pgharden_connections_used_ratio\\{datname="${dbB}"\\} `, 'm'));
          expect(all).toMatch(
            new RegExp(`^pgharden_longest_idle_in_transaction_seconds\\{datname="${dbB}",backend_type="client backend"\\} `, 'm'),
          );
          expect(all).toMatch(/datname="postgres"/);
          const focused = await series([]);
          expect(focused).not.toMatch(new RegExp(`datname="${dbB}"`));
          expect(focused).toMatch(new RegExp(`^pg_stat_database_xact_commit\\{datname="${dbA}"\\} \\d+`, 'm'));
        } finally {
          await other.end();
        }
      });
    });
  }, 90_000);
});

it('--prometheus listens on 127.0.0.1 unless told otherwise', async () => {
  const { parseListen } = await import('../src/monitor/sinks/prometheus.js');
  expect(parseListen('9632')).toEqual({ host: '127.0.0.1', port: 9632 });
  expect(parseListen('0.0.0.0:9632')).toEqual({ host: '0.0.0.0', port: 9632 });
});
