import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { parseConnString, parseKeywordValue, parseUri } from '../src/pg/conninfo.js';
import { lookupPassword } from '../src/pg/pgpass.js';
import { redact } from '../src/pg/redact.js';
import { escapeOption } from '../src/pg/session-options.js';
import { resolveTarget, wantsEmbedded, withDatabase } from '../src/pg/target.js';

const SECRET = 's3cr3t-XYZ';

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error('expected a UsageError');
}

/** A HOME with nothing in it, so no ~/.pgpass, ~/.pg_service.conf or ~/.postgresql leaks in. */
function emptyHome(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'pgharden-home-'));
}

describe('keyword/value strings (libpq quoting)', () => {
  it('reads quoted values with escaped quotes, backslashes and spaces, and spaces around =', () => {
    expect(parseKeywordValue(String.raw`host=db.example port = 6432 user=app password='a b\'c\\d' dbname=x\ y`, '--db')).toEqual({
      host: 'db.example',
      port: '6432',
      user: 'app',
      password: String.raw`a b'c\d`,
      dbname: 'x y',
    });
    expect(parseKeywordValue("password='' dbname=x", '--db')).toEqual({ password: '', dbname: 'x' });
  });

  it('refuses what libpq refuses, without echoing a password', () => {
    expect(usageError(() => parseKeywordValue('host=h bogus=1', '--db')).message).toContain('invalid connection option "bogus"');
    expect(usageError(() => parseKeywordValue(`host=h password='${SECRET}`, '--db')).message).toContain('unterminated quoted string');
    // An unquoted password with a space: the stray half must not be echoed as a keyword.
    const m = usageError(() => parseKeywordValue(`host=h password=s3cr3t XYZ dbname=d`, '--db')).message;
    expect(m).toContain('missing "="');
    expect(m).not.toContain('XYZ');
    expect(usageError(() => parseKeywordValue('require_auth=scram-sha-256', '--db')).message).toContain('not supported');
  });
});

describe('URIs', () => {
  it('percent-decodes every component as libpq does', () => {
    expect(
      parseUri('postgresql://us%40er:p%40ss%2Fw@db.example:6432/rt_sl%2Fash%3B%23%40%3A%3F?sslmode=require&application_name=a%20b', '--db'),
    ).toEqual({
      user: 'us@er',
      password: 'p@ss/w',
      host: 'db.example',
      port: '6432',
      dbname: 'rt_sl/ash;#@:?',
      sslmode: 'require',
      application_name: 'a b',
    });
    expect(parseUri('postgres://%2Fvar%2Frun%2Fpostgresql/db', '--db')).toEqual({ host: '/var/run/postgresql', dbname: 'db' });
    expect(parseUri('postgres://[::1]:5433', '--db')).toEqual({ host: '::1', port: '5433' });
    expect(parseUri('postgres:///db?host=/tmp&ssl=true', '--db')).toEqual({ dbname: 'db', host: '/tmp', sslmode: 'require' });
  });

  it('refuses another scheme and malformed escapes', () => {
    expect(usageError(() => parseConnString(`mysql://u:${SECRET}@h/d`, '--db')).message).toMatch(
      /mysql:\/\/ is not a PostgreSQL connection URI/,
    );
    expect(usageError(() => parseUri('postgres://h/a%2', '--db')).message).toContain('invalid percent-encoded token');
    expect(usageError(() => parseUri('postgres://h/a%00', '--db')).message).toContain('%00');
    expect(usageError(() => parseUri('postgres://h/d?nope=1', '--db')).message).toContain('invalid connection option "nope"');
  });
});

describe('resolveTarget: libpq precedence and defaults', () => {
  const user = os.userInfo().username;

  it('defaults the user to the OS user and the database to the user', () => {
    const home = emptyHome();
    const t = resolveTarget(undefined, { HOME: home, PGHOST: '127.0.0.1' });
    expect(t.config).toMatchObject({ user, database: user, host: '127.0.0.1', port: 5432, ssl: false });
    expect(t.source).toBe('libpq environment');
    const d = resolveTarget(undefined, { HOME: home, PGDATABASE: 'x', PGHOST: 'h' });
    expect(d.config).toMatchObject({ user, database: 'x' });
  });

  it('explicit parameters win over the service, which wins over the environment', () => {
    const home = emptyHome();
    const services = path.join(home, 'services.conf');
    fs.writeFileSync(services, '# comment\n[prod]\nhost=svc-host\nport=6000\ndbname=svc_db\n\n[other]\nhost=x\n');
    const env = { HOME: home, PGSERVICEFILE: services, PGHOST: 'env-host', PGUSER: 'env_user', PGPORT: '7000' };
    const t = resolveTarget('service=prod dbname=mine', env);
    expect(t.config).toMatchObject({ host: 'svc-host', port: 6000, user: 'env_user', database: 'mine' });
    const viaEnv = resolveTarget(undefined, { ...env, PGSERVICE: 'prod' });
    expect(viaEnv.config).toMatchObject({ host: 'svc-host', database: 'svc_db' });
    expect(usageError(() => resolveTarget('service=nope', env)).message).toMatch(/service "nope" not found.*services\.conf/);
  });

  it('reads ~/.pg_service.conf, then PGSYSCONFDIR/pg_service.conf', () => {
    const home = emptyHome();
    const sys = emptyHome();
    fs.writeFileSync(path.join(sys, 'pg_service.conf'), '[a]\nhost=sys-a\n[b]\nhost=sys-b\n');
    fs.writeFileSync(path.join(home, '.pg_service.conf'), '[a]\nhost=home-a\n');
    const env = { HOME: home, PGSYSCONFDIR: sys };
    expect(resolveTarget('service=a', env).config.host).toBe('home-a');
    expect(resolveTarget('service=b', env).config.host).toBe('sys-b');
  });

  it('DATABASE_URL is used when there is no --db, and --db wins over it', () => {
    const env = { HOME: emptyHome(), DATABASE_URL: 'postgres://a@h1/d1' };
    expect(resolveTarget(undefined, env).config).toMatchObject({ host: 'h1', database: 'd1' });
    expect(resolveTarget('postgres://b@h2/d2', env).config).toMatchObject({ host: 'h2', database: 'd2', user: 'b' });
  });

  it('shows a percent-decoded database name readably, never the password', () => {
    const t = resolveTarget(`postgres://rt:${SECRET}@h:5432/rt_sl%2Fash`, { HOME: emptyHome() });
    expect(t.database).toBe('rt_sl/ash');
    expect(t.config.database).toBe('rt_sl/ash');
    expect(t.display).toBe('postgres://rt@h:5432/rt_sl%2Fash');
    expect(withDatabase(t, 'données a/b').display).toBe('postgres://rt@h:5432/données%20a%2Fb');
    expect(resolveTarget(`host=/tmp user=u password=${SECRET}`, { HOME: emptyHome() }).display).toBe('postgres://u@[socket /tmp]:5432/u');
  });

  it('refuses several hosts, bad ports, bad sslmodes and unsupported promises', () => {
    const env = { HOME: emptyHome() };
    expect(usageError(() => resolveTarget('host=a,b', env)).message).toContain('one server at a time');
    expect(usageError(() => resolveTarget(`postgres://u:pa/${SECRET}@h/d`, env)).message).not.toContain(SECRET);
    expect(usageError(() => resolveTarget('host=h port=99999', env)).message).toContain('invalid port number');
    expect(usageError(() => resolveTarget('host=h sslmode=bogus', env)).message).toContain('invalid sslmode value: "bogus"');
    expect(usageError(() => resolveTarget(undefined, { ...env, PGSSLMODE: 'bogus' })).message).toContain('invalid sslmode');
    expect(usageError(() => resolveTarget('host=h target_session_attrs=read-write', env)).message).toContain('not supported');
  });

  it('wantsEmbedded: false as soon as anything names a server', () => {
    expect(wantsEmbedded(undefined, {})).toBe(true);
    expect(wantsEmbedded(undefined, { HOME: '/x', PATH: '/bin' })).toBe(true);
    for (const v of [
      'PGHOST',
      'PGHOSTADDR',
      'PGPORT',
      'PGUSER',
      'PGDATABASE',
      'PGSERVICE',
      'PGPASSWORD',
      'PGSSLMODE',
      'PGSERVICEFILE',
      'PGSSLROOTCERT',
      'PGPASSFILE',
    ]) {
      expect(wantsEmbedded(undefined, { [v]: 'x' }), v).toBe(false);
    }
    expect(wantsEmbedded('host=x', {})).toBe(false);
    expect(wantsEmbedded(undefined, { DATABASE_URL: 'postgres://h/d' })).toBe(false);
  });
});

describe('redaction', () => {
  it('masks passwords in URIs, keyword/value strings, percent-encoded strings and by value', () => {
    const inputs = [
      `postgres://u:${SECRET}@h/d`,
      `postgres://u:pa/${SECRET}@x@h/d`,
      `host=h password=${SECRET} dbname=d`,
      `host=h password = '${SECRET} with space' dbname=d`,
      `host=h password='${SECRET}`,
      `postgres://h/d?sslmode=require&password=${SECRET}&x=1`,
      `cannot connect to postgres://@base:5432/host%3Dh%20password%3D${SECRET}%20dbname%3Dd`,
    ];
    for (const text of inputs) expect(redact(text), text).not.toContain('s3cr3t');
    expect(redact(`FATAL: something quoted ${SECRET} back`, [SECRET])).toBe('FATAL: something quoted *** back');
    expect(redact('host=h dbname=d user=u')).toBe('host=h dbname=d user=u');
  });
});

describe('password file', () => {
  it('matches host, port, database and user with * and escapes; ignores a file others can read', () => {
    const dir = emptyHome();
    const file = path.join(dir, 'pgpass');
    fs.writeFileSync(file, '# comment\nother:5432:*:*:no\nlocalhost:5432:app:u:sock\\:pw\ndb.example:*:*:u:tcp\n', { mode: 0o600 });
    expect(lookupPassword(file, { host: '/var/run/postgresql', port: 5432, database: 'app', user: 'u' })).toEqual({ password: 'sock:pw' });
    expect(lookupPassword(file, { host: 'db.example', port: 6432, database: 'x', user: 'u' })).toEqual({ password: 'tcp' });
    expect(lookupPassword(file, { host: 'db.example', port: 6432, database: 'x', user: 'v' })).toEqual({});
    fs.chmodSync(file, 0o644);
    expect(lookupPassword(file, { host: 'db.example', port: 6432, database: 'x', user: 'u' })).toMatchObject({
      ignored: expect.stringContaining('chmod 0600'),
    });
  });
});

describe('startup options', () => {
  it('escapes spaces and backslashes as the server splits them', () => {
    expect(escapeOption('ISO, MDY')).toBe('ISO,\\ MDY');
    expect(escapeOption('a\\b')).toBe('a\\\\b');
  });
});
