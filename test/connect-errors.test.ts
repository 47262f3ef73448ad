import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConnectionError } from '../src/errors.js';
import { connect, withClient } from '../src/pg/client.js';
import { quoteIdent, quoteLiteral } from '../src/pg/quote.js';
import { resolveTarget } from '../src/pg/target.js';
import { runCli, sql, testServers, uniqueName, withTestDatabase, type TestServer } from './helpers.js';

/** `status` connected and found the database outside the built-in policy's target state (a check since issue 11). */
const DRIFTED = 1;

const SECRET = 's3cr3t-XYZ';

/** The server as a keyword/value string, with `extra` pairs. */
function kv(server: TestServer, extra: string): string {
  const u = new URL(server.url);
  return `host=${u.hostname} port=${u.port || 5432} ${extra}`;
}

function emptyHome(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'pgharden-home-'));
}

/** Nothing printed anywhere contains the secret. */
function expectNoSecret(r: { stdout: string; stderr: string }): void {
  expect(r.stdout + r.stderr).not.toContain('s3cr3t');
}

describe.each(testServers())('connection errors on $name PostgreSQL', (server) => {
  it('never echoes a password: keyword/value strings, URIs and malformed input', async () => {
    const home = emptyHome();
    const cases: [string, number][] = [
      [kv(server, `user=rt_pw_nobody password=${SECRET} dbname=nope`), 3],
      [`postgres://rt_pw_nobody:${SECRET}@${new URL(server.url).host}/nope`, 3],
      [kv(server, `user=u password='${SECRET}`), 2],
      [kv(server, `user=u password=${SECRET} more words`), 2],
      [`postgres://u:${SECRET}@h:notaport/d`, 2],
      [`mysql://u:${SECRET}@h/d`, 2],
      [kv(server, `password=${SECRET} sslmode=bogus`), 2],
    ];
    for (const [db, code] of cases) {
      const r = await runCli(['status', '--db', db], { env: { HOME: home } });
      expect(r.code, `${db}: ${r.stderr}`).toBe(code);
      expectNoSecret(r);
    }
    const json = await runCli(['status', '--json', '--db', kv(server, `user=rt_pw_nobody password=${SECRET} dbname=nope`)], {
      env: { HOME: home },
    });
    expect(json.json.exitCode).toBe(3);
    expectNoSecret(json);
  });

  it('percent-decodes the database name of a URI (a database named with / ; # @ : ?)', async () => {
    const name = `${uniqueName('rt_sl')}/a;b#c@d:e?f`;
    await withTestDatabase(server, name, async () => {
      const u = new URL(server.url);
      u.pathname = '/' + encodeURIComponent(name);
      const r = await runCli(['status', '--db', u.toString()]);
      expect(r.code, r.stderr).toBe(DRIFTED);
      expect(r.stdout + r.stderr).toContain(`database ${name}`);
      const t = resolveTarget(u.toString(), { HOME: emptyHome() });
      expect(await withClient(t, async (c) => (await c.query('SELECT current_database() AS d')).rows[0].d)).toBe(name);
    });
  });

  it('keyword/value strings, the libpq environment and DATABASE_URL reach the server', async () => {
    const u = new URL(server.url);
    const base = { HOME: emptyHome(), PGPASSWORD: decodeURIComponent(u.password) };
    const viaKv = await runCli(['status', '--db', kv(server, `user=${decodeURIComponent(u.username)} dbname=postgres`)], { env: base });
    expect(viaKv.code, viaKv.stderr).toBe(DRIFTED);
    const viaEnv = await runCli(['status'], {
      env: { ...base, PGHOST: u.hostname, PGPORT: u.port || '5432', PGUSER: decodeURIComponent(u.username), PGDATABASE: 'postgres' },
    });
    expect(viaEnv.code, viaEnv.stderr).toBe(DRIFTED);
    const viaUrl = await runCli(['status'], { env: { HOME: base.HOME, DATABASE_URL: server.url } });
    expect(viaUrl.code, viaUrl.stderr).toBe(DRIFTED);
  });

  it('PGDATABASE alone logs in as the OS user (libpq default), not with an empty user', async () => {
    const osUser = os.userInfo().username;
    const exists = (await sql(server, 'SELECT 1 FROM pg_roles WHERE rolname = $1', [osUser])).length > 0;
    const password = `pw-${uniqueName('os')}`;
    if (!exists) await sql(server, `CREATE ROLE ${quoteIdent(osUser)} LOGIN PASSWORD ${quoteLiteral(password)}`);
    try {
      const u = new URL(server.url);
      const env = {
        HOME: emptyHome(),
        PGHOST: u.hostname,
        PGPORT: u.port || '5432',
        PGDATABASE: 'postgres',
        ...(exists ? {} : { PGPASSWORD: password }),
      };
      const t = resolveTarget(undefined, env);
      expect(t.config.user).toBe(osUser);
      const who = await withClient(t, async (c) => (await c.query('SELECT current_user AS u')).rows[0].u);
      expect(who).toBe(osUser);
    } finally {
      if (!exists) await sql(server, `DROP ROLE ${quoteIdent(osUser)}`);
    }
  });
});

// The system test server trusts local logins; the embedded one asks for a SCRAM password.
describe.each(testServers().filter((s) => s.name === 'embedded'))('passwords on $name PostgreSQL (scram)', (server) => {
  async function withRole<T>(fn: (role: string, password: string) => Promise<T>): Promise<T> {
    const role = uniqueName('rt_pw');
    const password = `pw:${uniqueName('x')}`;
    await sql(server, `CREATE ROLE ${quoteIdent(role)} LOGIN PASSWORD ${quoteLiteral(password)}`);
    try {
      return await fn(role, password);
    } finally {
      await sql(server, `DROP ROLE ${quoteIdent(role)}`);
    }
  }

  it('no password given: exit 3 "password required", not an internal error', async () => {
    await withRole(async (role) => {
      const r = await runCli(['status', '--db', kv(server, `user=${role} dbname=postgres`)], { env: { HOME: emptyHome() } });
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toContain('password required');
      const err = await connect(resolveTarget(kv(server, `user=${role} dbname=postgres`), { HOME: emptyHome() })).catch((e) => e);
      expect(err).toBeInstanceOf(ConnectionError);
    });
  });

  it('reads ~/.pgpass and PGPASSFILE when no password is given; ignores a file others can read', async () => {
    await withRole(async (role, password) => {
      const home = emptyHome();
      const port = new URL(server.url).port;
      const line = `*:${port}:postgres:${role}:${password.replace(/([:\\])/g, '\\$1')}\n`;
      fs.writeFileSync(path.join(home, '.pgpass'), line, { mode: 0o600 });
      const db = kv(server, `user=${role} dbname=postgres`);
      expect((await runCli(['status', '--db', db], { env: { HOME: home } })).code).toBe(DRIFTED);

      const other = path.join(emptyHome(), 'passfile');
      fs.writeFileSync(other, line, { mode: 0o600 });
      const viaEnv = await runCli(['status', '--db', db], { env: { HOME: emptyHome(), PGPASSFILE: other } });
      expect(viaEnv.code, viaEnv.stderr).toBe(DRIFTED);

      fs.chmodSync(other, 0o644);
      const open = await runCli(['status', '--db', db], { env: { HOME: emptyHome(), PGPASSFILE: other } });
      expect(open.code).toBe(3);
      expect(open.stderr).toMatch(/password required.*chmod 0600/);
      expect(open.stderr).not.toContain(password);
    });
  });

  it('a wrong password is exit 3 and is not printed', async () => {
    await withRole(async (role) => {
      const r = await runCli(['status', '--db', kv(server, `user=${role} password=${SECRET} dbname=postgres`)], {
        env: { HOME: emptyHome() },
      });
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('password authentication failed');
      expectNoSecret(r);
    });
  });
});

describe.each(testServers())('session hygiene on $name PostgreSQL', (server) => {
  it('tool sessions pin what the tool parses and can write; raw sessions see the database defaults', async () => {
    await withTestDatabase(server, uniqueName('hyg'), async (db) => {
      for (const s of [
        `DateStyle = 'SQL, DMY'`,
        `TimeZone = 'Pacific/Chatham'`,
        `default_transaction_read_only = on`,
        `IntervalStyle = 'sql_standard'`,
        `lock_timeout = '1ms'`,
        `extra_float_digits = -15`,
      ]) {
        await sql(server, `ALTER DATABASE ${quoteIdent(db)} SET ${s}`);
      }
      const u = new URL(server.url);
      u.pathname = '/' + encodeURIComponent(db);
      const target = resolveTarget(u.toString(), { HOME: emptyHome() });

      const tool = await withClient(target, async (c) => {
        const show = async (name: string) => (await c.query(`SELECT current_setting($1) AS v`, [name])).rows[0].v as string;
        await c.query('CREATE TABLE written (x int)');
        await c.query('INSERT INTO written VALUES (1)');
        const { rows } = await c.query(
          `SELECT now() AS now, extract(year FROM now())::int AS year, '1 day 2 hours'::interval::text AS iv, 0.1::float8 AS f`,
        );
        return {
          ds: await show('DateStyle'),
          tz: await show('TimeZone'),
          ro: await show('default_transaction_read_only'),
          lock: await show('lock_timeout'),
          idle: await show('idle_in_transaction_session_timeout'),
          ...rows[0],
        };
      });
      expect(tool).toMatchObject({ ds: 'ISO, MDY', tz: 'UTC', ro: 'off', lock: '0', idle: '0', iv: '1 day 02:00:00', f: 0.1 });
      expect((tool.now as Date).getUTCFullYear()).toBe(tool.year);

      const raw = await withClient(
        target,
        async (c) => {
          const { rows } = await c.query(
            `SELECT current_setting('DateStyle') AS ds, current_setting('TimeZone') AS tz, current_setting('default_transaction_read_only') AS ro`,
          );
          const timeout = (c as unknown as { connectionParameters: { query_timeout?: number } }).connectionParameters.query_timeout;
          return { ...rows[0], timeout };
        },
        { raw: true },
      );
      expect(raw).toMatchObject({ ds: 'SQL, DMY', tz: 'Pacific/Chatham', ro: 'on' });
      expect(raw.timeout).toBeGreaterThan(0);
    });
  });

  it('a raw session is cut short client-side by its query timeout', async () => {
    const target = resolveTarget(server.url, { HOME: emptyHome() });
    const err = await withClient(target, (c) => c.query('SELECT pg_sleep(5)'), { raw: true, queryTimeoutMs: 300 }).catch((e) => e);
    expect(String(err?.message)).toMatch(/timeout/i);
  });
});
