import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionError } from '../src/errors.js';
import { connect, withClient } from '../src/pg/client.js';
import { resolveTarget } from '../src/pg/target.js';
import { runCli, sql, testServers } from './helpers.js';
import { startTlsServer, type TlsServer } from './tls-server.js';

/** `status` connected, and the server's postgres database is not in the built-in policy's target state (a check since issue 11). */
const DRIFTED = 1;

/** libpq's sslmode semantics against a server with ssl=on and a certificate from the test's own CA. */
describe('TLS (sslmode) against a server with its own CA', () => {
  let server: TlsServer;
  beforeAll(async () => {
    server = await startTlsServer();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  const home = () => fs.mkdtempSync(path.join(os.tmpdir(), 'pgharden-home-'));
  const db = (extra: string, host = 'host=127.0.0.1') =>
    `${host} port=${server.port} user=postgres password=${server.password} dbname=postgres ${extra}`;
  /** Whether the session the tool opened is encrypted, as the server sees it. */
  const encrypted = (conninfo: string, env: NodeJS.ProcessEnv = { HOME: home() }) =>
    withClient(
      resolveTarget(conninfo, env),
      async (c) => (await c.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows[0].ssl as boolean,
    );

  it('require: encrypted without verifying the server (no root certificate), and no SECURITY WARNING', async () => {
    expect(await encrypted(db('sslmode=require'))).toBe(true);
    const r = await runCli(['status', '--db', db('sslmode=require')], { env: { HOME: home() } });
    expect(r.code, r.stderr).toBe(DRIFTED);
    expect(r.stderr).not.toMatch(/SECURITY WARNING/);
    expect(r.stdout + r.stderr).not.toContain(server.password);
  });

  it('prefer (the default) is encrypted when the server offers TLS; allow and disable are plain', async () => {
    expect(await encrypted(db(''))).toBe(true);
    expect(await encrypted(db('sslmode=prefer'))).toBe(true);
    expect(await encrypted(db('sslmode=allow'))).toBe(false);
    expect(await encrypted(db('sslmode=disable'))).toBe(false);
    const r = await runCli(['status', '--db', db('sslmode=disable')], { env: { HOME: home() } });
    expect(r.code, r.stderr).toBe(DRIFTED);
  });

  it('verify-full with the CA (sslrootcert or PGSSLROOTCERT or ~/.postgresql/root.crt) connects encrypted', async () => {
    expect(await encrypted(db(`sslmode=verify-full sslrootcert=${server.caFile}`, 'host=localhost hostaddr=127.0.0.1'))).toBe(true);
    expect(await encrypted(db('', 'host=localhost'), { HOME: home(), PGSSLMODE: 'verify-full', PGSSLROOTCERT: server.caFile })).toBe(true);
    const h = home();
    fs.mkdirSync(path.join(h, '.postgresql'));
    fs.copyFileSync(server.caFile, path.join(h, '.postgresql', 'root.crt'));
    expect(await encrypted(db('sslmode=verify-full', 'host=127.0.0.1'), { HOME: h })).toBe(true);
    const r = await runCli(['status', '--db', db(`sslmode=verify-full sslrootcert=${server.caFile}`, 'host=localhost')], {
      env: { HOME: home() },
    });
    expect(r.code, r.stderr).toBe(DRIFTED);
  });

  it('verify-full without the CA, or with another CA, is exit 3 saying why', async () => {
    const none = await runCli(['status', '--db', db('sslmode=verify-full')], { env: { HOME: home() } });
    expect(none.code, none.stderr).toBe(3);
    expect(none.stderr).toMatch(/root certificate file .* does not exist.*sslrootcert/);

    const other = await runCli(['status', '--db', db(`sslmode=verify-full sslrootcert=${server.otherCaFile}`)], { env: { HOME: home() } });
    expect(other.code, other.stderr).toBe(3);
    expect(other.stderr).toMatch(/server certificate not trusted.*set sslrootcert/);

    const err = await connect(resolveTarget(db(`sslmode=verify-ca sslrootcert=${server.otherCaFile}`), { HOME: home() })).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectionError);
  });

  it('verify-full refuses a host name the certificate does not carry; verify-ca accepts it', async () => {
    const wrong = 'host=wrong.example hostaddr=127.0.0.1';
    const r = await runCli(['status', '--db', db(`sslmode=verify-full sslrootcert=${server.caFile}`, wrong)], { env: { HOME: home() } });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/does not match the host name "wrong.example"/);
    expect(await encrypted(db(`sslmode=verify-ca sslrootcert=${server.caFile}`, wrong))).toBe(true);
  });

  it('require verifies the chain when a root certificate file exists, as libpq does', async () => {
    const h = home();
    fs.mkdirSync(path.join(h, '.postgresql'));
    fs.copyFileSync(server.otherCaFile, path.join(h, '.postgresql', 'root.crt'));
    const r = await runCli(['status', '--db', db('sslmode=require')], { env: { HOME: h } });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain('server certificate not trusted');
    fs.copyFileSync(server.caFile, path.join(h, '.postgresql', 'root.crt'));
    expect(await encrypted(db('sslmode=require'), { HOME: h })).toBe(true);
  });

  it('client certificates: sslcert/sslkey, or ~/.postgresql/postgresql.crt|.key by default', async () => {
    const who = (conninfo: string, env: NodeJS.ProcessEnv) =>
      withClient(resolveTarget(conninfo, env), async (c) => (await c.query('SELECT current_user AS u')).rows[0].u as string);
    const base = `host=localhost port=${server.port} user=certuser dbname=postgres sslmode=verify-full sslrootcert=${server.caFile}`;
    expect(await who(`${base} sslcert=${server.clientCert} sslkey=${server.clientKey}`, { HOME: home() })).toBe('certuser');
    // allow: plain first; pg_hba has only a hostssl line for certuser, so the second attempt, in TLS, is the one that logs in.
    const allow = `host=127.0.0.1 port=${server.port} user=certuser dbname=postgres sslmode=allow sslcert=${server.clientCert} sslkey=${server.clientKey}`;
    expect(await who(allow, { HOME: home() })).toBe('certuser');
    const h = home();
    fs.mkdirSync(path.join(h, '.postgresql'));
    fs.copyFileSync(server.clientCert, path.join(h, '.postgresql', 'postgresql.crt'));
    fs.copyFileSync(server.clientKey, path.join(h, '.postgresql', 'postgresql.key'));
    fs.chmodSync(path.join(h, '.postgresql', 'postgresql.key'), 0o600);
    expect(await who(base, { HOME: h })).toBe('certuser');
    // libpq refuses a private key others can read.
    fs.chmodSync(path.join(h, '.postgresql', 'postgresql.key'), 0o644);
    const open = await runCli(['status', '--db', base], { env: { HOME: h } });
    expect(open.code, open.stderr).toBe(3);
    expect(open.stderr).toContain('has group or world access');
    const without = await runCli(['status', '--db', base], { env: { HOME: home() } });
    expect(without.code, without.stderr).toBe(3);
  });

  it('sslmode=bogus is a usage error (exit 2)', async () => {
    const r = await runCli(['status', '--db', db('sslmode=bogus')], { env: { HOME: home() } });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('invalid sslmode value: "bogus"');
    const env = await runCli(['status'], { env: { HOME: home(), PGHOST: '127.0.0.1', PGPORT: String(server.port), PGSSLMODE: 'bogus' } });
    expect(env.code, env.stderr).toBe(2);
  });
});

describe.each(testServers())('TLS modes against a server without TLS ($name)', (s) => {
  it('prefer and allow connect in plain; require is exit 3', async () => {
    const [{ ssl }] = await sql<{ ssl: string }>(s, 'SHOW ssl');
    if (ssl === 'on') return; // a system server with TLS: the suite above covers it
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'pgharden-home-'));
    const u = new URL(s.url);
    u.searchParams.set('sslmode', 'prefer');
    expect(await withClient(resolveTarget(u.toString(), { HOME: home }), async (c) => (await c.query('SELECT 1 AS one')).rows[0].one)).toBe(
      1,
    );
    u.searchParams.set('sslmode', 'allow');
    expect(await withClient(resolveTarget(u.toString(), { HOME: home }), async (c) => (await c.query('SELECT 1 AS one')).rows[0].one)).toBe(
      1,
    );
    u.searchParams.set('sslmode', 'require');
    const r = await runCli(['status', '--db', u.toString()], { env: { HOME: home } });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain('does not accept TLS');
  });
});
