import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ClientConfig } from 'pg';
import { ConnectionError, UsageError } from '../errors.js';
import { parseConnString, type ConnParams } from './conninfo.js';
import { homeDir, readService } from './service-file.js';
import { tlsPlan, type TlsPlan } from './ssl.js';

/** Where a connection's settings came from (libpq conventions, DESIGN.md §4). */
export type TargetSource = '--db' | 'DATABASE_URL' | 'libpq environment' | 'embedded' | 'inventory' | '--control';

/** What connect() does itself beyond node-postgres's config (plain data: targets are cloned into worker threads). */
export interface LibpqSession {
  tls: TlsPlan;
  /** The password file read when the server asks for a password and none was given. */
  passfile: string;
  /** connect_timeout in ms (libpq: at least 2 s); unset: pgharden's default. */
  connectTimeoutMs?: number;
  /** keepalives_idle in ms; unset: pgharden's default. */
  keepAliveDelayMs?: number;
  /** The host name as given (for pgpass and messages) when hostaddr is what is dialled. */
  host?: string;
  hostaddr?: string;
}

/** A resolved server + database to work on. Never holds a printable password. */
export interface Target {
  source: TargetSource;
  /** Complete node-postgres settings (host, port, user, database, ssl): nothing left for pg to guess from PG* variables. */
  config: ClientConfig;
  database: string;
  /** `postgres://user@host:port/db`, never with the password. */
  display: string;
  /** Set by resolveTarget/fromUrl; a Target built by hand connects with config alone. */
  libpq?: LibpqSession;
}

/** libpq's environment variables and the keywords they stand for (libpq-envars). */
const ENV_KEYWORDS: Record<string, string> = {
  PGHOST: 'host',
  PGHOSTADDR: 'hostaddr',
  PGPORT: 'port',
  PGDATABASE: 'dbname',
  PGUSER: 'user',
  PGPASSWORD: 'password',
  PGPASSFILE: 'passfile',
  PGSERVICE: 'service',
  PGOPTIONS: 'options',
  PGAPPNAME: 'application_name',
  PGSSLMODE: 'sslmode',
  PGREQUIRESSL: 'requiressl',
  PGSSLCERT: 'sslcert',
  PGSSLKEY: 'sslkey',
  PGSSLROOTCERT: 'sslrootcert',
  PGSSLCRL: 'sslcrl',
  PGSSLCRLDIR: 'sslcrldir',
  PGSSLSNI: 'sslsni',
  PGSSLNEGOTIATION: 'sslnegotiation',
  PGSSLMINPROTOCOLVERSION: 'ssl_min_protocol_version',
  PGSSLMAXPROTOCOLVERSION: 'ssl_max_protocol_version',
  PGCONNECT_TIMEOUT: 'connect_timeout',
  PGCLIENTENCODING: 'client_encoding',
  PGTARGETSESSIONATTRS: 'target_session_attrs',
  PGGSSENCMODE: 'gssencmode',
  PGREQUIREAUTH: 'require_auth',
  PGCHANNELBINDING: 'channel_binding',
  PGKRBSRVNAME: 'krbsrvname',
  PGGSSLIB: 'gsslib',
  PGSSLCERTMODE: 'sslcertmode',
  PGLOADBALANCEHOSTS: 'load_balance_hosts',
  PGREQUIREPEER: 'requirepeer',
  PGSSLCOMPRESSION: 'sslcompression',
  PGGSSDELEGATION: 'gssdelegation',
};

/** True when nothing names a server, so the embedded default applies. */
export function wantsEmbedded(dbFlag: string | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  return !dbFlag && !env.DATABASE_URL && !env.PGSERVICEFILE && !Object.keys(ENV_KEYWORDS).some((v) => env[v]);
}

/** --db (URI or keyword/value string), else DATABASE_URL, else the libpq environment (PGHOST, PGSERVICE, …). */
export function resolveTarget(dbFlag: string | undefined, env: NodeJS.ProcessEnv = process.env): Target {
  if (dbFlag) return fromUrl(dbFlag, '--db', env);
  if (env.DATABASE_URL) return fromUrl(env.DATABASE_URL, 'DATABASE_URL', env);
  return fromParams({}, 'libpq environment', env);
}

/**
 * A connection string (postgres:// URI or keyword=value pairs) completed as libpq would:
 * its own parameters, then the service's, then the environment's, then the defaults.
 * The embedded server's URL is complete and ours: the caller's environment does not apply to it.
 */
export function fromUrl(url: string, source: TargetSource, env: NodeJS.ProcessEnv = process.env): Target {
  if (source === 'embedded') return fromParams({ sslmode: 'disable', ...parseConnString(url, source) }, source, { HOME: homeDir(env) });
  return fromParams(parseConnString(url, source), source, env);
}

/** Explicit parameters > service > environment > defaults, into a complete Target. */
export function fromParams(explicit: ConnParams, source: TargetSource, env: NodeJS.ProcessEnv = process.env): Target {
  const fromEnv: ConnParams = {};
  for (const [name, key] of Object.entries(ENV_KEYWORDS)) if (env[name]) fromEnv[key] = env[name];
  const serviceName = explicit.service || fromEnv.service;
  const fromService = serviceName ? readService(serviceName, env) : {};
  const merged: ConnParams = { ...fromEnv, ...fromService, ...explicit };
  // An empty value means "the default", as in libpq.
  const p: ConnParams = Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== undefined && v !== ''));
  checkValues(p, source);

  const port = p.port ? parsePort(p.port, source) : 5432;
  const user = p.user ?? osUser();
  const database = p.dbname ?? user;
  const host = p.host ?? (p.hostaddr ? undefined : defaultHost(port));
  const dial = p.hostaddr ?? host!;
  const socket = dial.startsWith('/');
  const home = homeDir(env);
  const display = describe(user, host ?? dial, port, database);
  let tls: TlsPlan;
  try {
    tls = tlsPlan(p, home, socket);
  } catch (err) {
    // A file sslmode needs is missing or unreadable: libpq reports it as a connection failure.
    if (err instanceof ConnectionError) throw new ConnectionError(`cannot connect to ${display}: ${err.message}`);
    throw err;
  }

  const config: ClientConfig = {
    host: dial,
    port,
    user,
    database,
    ssl: tls.mode === 'require' || tls.mode.startsWith('verify') ? { ...tls.attempts[0] } : false,
  };
  if (p.password !== undefined) config.password = p.password;
  if (p.options) config.options = p.options;
  if (p.sslnegotiation === 'direct') (config as { sslnegotiation?: string }).sslnegotiation = 'direct';
  if (p.channel_binding === 'prefer' || (p.channel_binding === undefined && tls.mode !== 'disable')) config.enableChannelBinding = true;

  const libpq: LibpqSession = { tls, passfile: p.passfile ?? path.join(home, '.pgpass'), host, hostaddr: p.hostaddr };
  if (p.connect_timeout !== undefined) {
    const s = Number(p.connect_timeout);
    if (!Number.isInteger(s)) throw new UsageError(`invalid connect_timeout value in ${source}: "${p.connect_timeout}" (whole seconds)`);
    if (s > 0) libpq.connectTimeoutMs = Math.max(2, s) * 1000;
  }
  if (p.keepalives_idle !== undefined) {
    const s = Number(p.keepalives_idle);
    if (!Number.isInteger(s) || s < 0)
      throw new UsageError(`invalid keepalives_idle value in ${source}: "${p.keepalives_idle}" (whole seconds)`);
    libpq.keepAliveDelayMs = s * 1000;
  }
  return { source, config, database, display, libpq };
}

/** The same server and credentials, another database. */
export function withDatabase(target: Target, database: string): Target {
  const display = `${target.display.slice(0, target.display.lastIndexOf('/'))}/${displayPart(database)}`;
  return { ...target, database, config: { ...target.config, database }, display };
}

/** Values libpq would reject, and promises pgharden cannot keep: refused before any connection. */
function checkValues(p: ConnParams, source: string): void {
  for (const key of ['host', 'hostaddr', 'port'] as const) {
    if (p[key]?.includes(','))
      throw new UsageError(`${source}: pgharden connects to one server at a time; ${key} lists several (name one)`);
  }
  const allowed: Record<string, string[]> = {
    target_session_attrs: ['any'],
    gssencmode: ['disable', 'prefer'],
    channel_binding: ['disable', 'prefer'],
    sslnegotiation: ['postgres', 'direct'],
  };
  for (const [key, values] of Object.entries(allowed)) {
    const v = p[key];
    if (v !== undefined && !values.includes(v)) {
      throw new UsageError(`${source}: ${key}=${v} is not supported by pgharden (it accepts ${values.join(' or ')})`);
    }
  }
  if (p.sslnegotiation === 'direct' && !['require', 'verify-ca', 'verify-full'].includes(p.sslmode ?? '')) {
    throw new UsageError(`${source}: sslnegotiation=direct needs sslmode=require, verify-ca or verify-full`);
  }
}

function parsePort(v: string, source: string): number {
  const n = Number(v);
  // The value itself is not echoed: in a malformed URI it may be a piece of the password.
  if (!/^\d+$/.test(v) || n < 1 || n > 65535) throw new UsageError(`invalid port number in ${source} (expected 1-65535)`);
  return n;
}

/** libpq's default user is the OS user (not $USER). */
function osUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    throw new UsageError('no PostgreSQL user name: the OS user has no name here; set PGUSER or user= in the connection string');
  }
}

/** libpq's default: the Unix socket when the server's socket file is there, else localhost. */
function defaultHost(port: number): string {
  for (const dir of ['/var/run/postgresql', '/tmp']) {
    if (fs.existsSync(path.join(dir, `.s.PGSQL.${port}`))) return dir;
  }
  return 'localhost';
}

/** Readable, and still a URI that libpq resolves to the same place: only separators are escaped. */
function displayPart(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what must be percent-encoded
  return s.replace(/[%/?#@:\s\x00-\x1f\x7f]/g, (c) => encodeURIComponent(c));
}

function describe(user: string, host: string, port: number, database: string): string {
  const shown = host.startsWith('/') ? `[socket ${host}]` : host.includes(':') ? `[${host}]` : host;
  return `postgres://${displayPart(user)}@${shown}:${port}/${displayPart(database)}`;
}
