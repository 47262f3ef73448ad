import type tls from 'node:tls';
import './preload.js';
import pg from 'pg';
import { ConnectionError } from '../errors.js';
import { lookupPassword } from './pgpass.js';
import { redact } from './redact.js';
import { toolSessionOptions } from './session-options.js';
import { describeTlsError, type TlsOptions } from './ssl.js';
import type { Target } from './target.js';

export type Client = pg.Client;

export interface ConnectOptions {
  /** application_name, so DBAs can tell our sessions apart in pg_stat_activity. */
  appName?: string;
  /**
   * Connect exactly as an application would: no session settings of our own.
   * verify uses it to read what the database and role settings give a new session.
   */
  raw?: boolean;
  /** statement_timeout for the tool's own session (ms); the hardening must not cut our work short. */
  statementTimeoutMs?: number;
  /** lock_timeout for the tool's own session (ms); 0 (wait) unless the caller says otherwise. */
  lockTimeoutMs?: number;
  /** Client-side bound on any one query (ms). Default: tool sessions statement_timeout + 15 s; raw sessions 10 min. */
  queryTimeoutMs?: number;
  /** Called when the server ends the session outside a query (57P01, 25P03, network loss). */
  onError?: (err: Error) => void;
}

const DEFAULT_TOOL_STATEMENT_TIMEOUT_MS = 120_000;
/** Raw sessions run what applications run (probes, SQL checks): bounded so a silent network cannot hang us forever. */
const DEFAULT_RAW_QUERY_TIMEOUT_MS = 600_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** TCP keepalive after this much silence (libuv then probes every second, 10 times, on Linux). */
const DEFAULT_KEEPALIVE_DELAY_MS = 15_000;

/** SQLSTATE classes and Node errors that mean "we never got a usable session". */
const CONNECT_FAILURE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ECONNRESET',
  'EAI_AGAIN',
  'ENOENT',
  'EACCES',
]);

export function isConnectFailure(err: unknown): boolean {
  if (err instanceof ConnectionError) return true;
  const e = err as { code?: string; message?: string } | null;
  const code = e?.code ?? '';
  return (
    CONNECT_FAILURE_CODES.has(code) ||
    /^(08|28|3D|53|57P0)/.test(code) ||
    /CERT|^ERR_TLS_|^ERR_SSL_|^EPROTO$|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(code) ||
    /does not support SSL connections|error establishing an SSL connection|Connection terminated (due to connection timeout|unexpectedly)/.test(
      e?.message ?? '',
    )
  );
}

/** The failure as exit 3, naming the target (never its password) and, for TLS, why and what to set. */
export function connectionFailure(err: unknown, target: Target): ConnectionError {
  const e = err as { code?: string; message?: string };
  if (err instanceof ConnectionError) {
    const text = err.message.startsWith('cannot connect to ') ? err.message : `cannot connect to ${target.display}: ${err.message}`;
    return new ConnectionError(redact(text, secrets(target)), err.code);
  }
  const host = target.libpq?.host ?? String(target.config.host);
  const why =
    describeTlsError(e, target.libpq?.tls, host) ??
    // node-postgres's words when it had no password to send (a Target built without libpq settings).
    (/password must be a string/i.test(e.message ?? '')
      ? `password required: the server asks for a password for user "${target.config.user}" and none was given`
      : null) ??
    (e.message || e.code || String(err));
  const text = `cannot connect to ${target.display}: ${why}${e.code && !why.includes(e.code) ? ` (${e.code})` : ''}${tooManyHint(e)}`;
  return new ConnectionError(redact(text, secrets(target)), e.code);
}

/** 53300 in a DBA's words: which connection limit was reached (superusers bypass the database and role limits). */
function tooManyHint(e: { code?: string; message?: string }): string {
  if (e.code !== '53300') return '';
  const m = e.message ?? '';
  if (/for database/.test(m)) return ': the database connection limit was reached (datconnlimit; superusers are not counted against it)';
  if (/for role/.test(m)) return ": the role's connection limit was reached (rolconnlimit)";
  return ': the server connection limit was reached (max_connections, minus slots reserved for superusers)';
}

function secrets(target: Target): string[] {
  const c = target.config;
  return [typeof c.password === 'string' ? c.password : undefined, (c.ssl as TlsOptions | undefined)?.passphrase].filter(
    (s): s is string => !!s,
  );
}

/** Servers that answered "no TLS" under sslmode=prefer: later sessions go plain at once instead of asking again. */
const plainOnly = new Set<string>();

/**
 * Open a session. Tool sessions pin what the tool parses (DateStyle, TimeZone, …) and get an
 * explicit statement_timeout, never time out while idle and can always write, so neither the
 * settings we apply nor a database's own defaults can break our work. Every session, raw ones
 * too, has a connect timeout, a client-side query timeout and TCP keepalive.
 */
export async function connect(target: Target, opts: ConnectOptions = {}): Promise<Client> {
  const attempts = tlsAttempts(target);
  let lastError: unknown;
  for (const [i, ssl] of attempts.entries()) {
    const client = new pg.Client(clientConfig(target, opts, ssl));
    client.on('error', (err) => opts.onError?.(err));
    try {
      await client.connect();
      if (!opts.raw) {
        // Newer timeouts (PG 14+/17+) that would also end an idle tool session; unknown names are an error in startup options.
        await client.query(
          `SELECT set_config(name, '0', false) FROM pg_settings WHERE name IN ('idle_session_timeout', 'transaction_timeout')`,
        );
      }
      return client;
    } catch (err) {
      await client.end().catch(() => undefined);
      lastError = err;
      if (i + 1 < attempts.length && worthAnotherAttempt(err, ssl)) {
        if (ssl && /does not support SSL/.test((err as Error).message)) plainOnly.add(serverKey(target));
        continue;
      }
      break;
    }
  }
  // A SQLSTATE outside the connection classes (a bad `-c` in PGOPTIONS, 42501 on set_config) is the database refusing
  // a statement; anything else before the session was usable (network, TLS, auth, pg's own complaints) is exit 3.
  const code = (lastError as { code?: string })?.code ?? '';
  throw /^[0-9A-Z]{5}$/.test(code) && !isConnectFailure(lastError) ? lastError : connectionFailure(lastError, target);
}

/** prefer: TLS, then plain; allow: plain, then TLS; other modes: one attempt. */
function tlsAttempts(target: Target): (false | TlsOptions)[] {
  const plan = target.libpq?.tls;
  if (!plan) return [(target.config.ssl as TlsOptions | false | undefined) ?? false];
  if (plan.mode === 'prefer' && plainOnly.has(serverKey(target))) return [false];
  // A caller's own socket (the load generator's read path) cannot be upgraded to TLS mid-stream.
  if (target.config.stream && plan.attempts.includes(false)) return [false];
  return plan.attempts;
}

/** libpq moves to the next attempt when the server refuses TLS (prefer), or refuses this kind of connection in pg_hba. */
function worthAnotherAttempt(err: unknown, ssl: false | TlsOptions): boolean {
  const e = err as { code?: string; message?: string };
  if (ssl) return /does not support SSL|error establishing an SSL connection/.test(e.message ?? '') || e.code === '28000' || isTlsError(e);
  return e.code === '28000';
}

function isTlsError(e: { code?: string }): boolean {
  return /CERT|^ERR_TLS_|^ERR_SSL_|^EPROTO$|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(e.code ?? '');
}

function serverKey(target: Target): string {
  return `${target.config.host}:${target.config.port}`;
}

function clientConfig(target: Target, opts: ConnectOptions, ssl: false | TlsOptions): pg.ClientConfig {
  const libpq = target.libpq;
  const statementTimeoutMs = opts.statementTimeoutMs ?? DEFAULT_TOOL_STATEMENT_TIMEOUT_MS;
  const config: pg.ClientConfig = {
    ...target.config,
    application_name: opts.appName ?? 'pgharden',
    connectionTimeoutMillis: libpq?.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: libpq?.keepAliveDelayMs ?? DEFAULT_KEEPALIVE_DELAY_MS,
    // A network that silently drops packets never answers: give up client-side soon after the server would.
    query_timeout: opts.queryTimeoutMs ?? (opts.raw ? DEFAULT_RAW_QUERY_TIMEOUT_MS : statementTimeoutMs + 15_000),
    // A fresh object each time: node-postgres hides `key` on the object it is given, which would lose it for the next session.
    ssl: ssl ? tlsOptions(ssl, target) : false,
  };
  if (libpq) config.password = passwordSupplier(target);
  if (!opts.raw) {
    // Appended, so options from the user's connection string or PGOPTIONS (search_path, …) still apply; ours win where they overlap.
    const own = toolSessionOptions({ statementTimeoutMs, lockTimeoutMs: opts.lockTimeoutMs ?? 0 });
    config.options = [target.libpq ? target.config.options : (target.config.options ?? process.env.PGOPTIONS), own]
      .filter(Boolean)
      .join(' ');
  }
  return config;
}

function tlsOptions(ssl: TlsOptions, target: Target): tls.ConnectionOptions {
  const out: tls.ConnectionOptions = { ...ssl };
  // verify-ca (and require/prefer with a root certificate): the chain is checked, the name is not.
  if (target.libpq?.tls.skipHostname) out.checkServerIdentity = () => undefined;
  return out;
}

/**
 * The password, asked for only when the server wants one (as libpq): the one given, else the
 * password file's (PGPASSFILE or ~/.pgpass), else a clear "password required" (exit 3).
 */
function passwordSupplier(target: Target): () => Promise<string> {
  return async () => {
    const given = target.config.password;
    if (typeof given === 'string' && given !== '') return given;
    const libpq = target.libpq!;
    const found = lookupPassword(libpq.passfile, {
      host: libpq.host,
      hostaddr: libpq.hostaddr,
      port: Number(target.config.port ?? 5432),
      database: String(target.config.database),
      user: String(target.config.user),
    });
    if (found.password !== undefined) return found.password;
    throw new ConnectionError(
      `password required: the server asks for a password for user "${target.config.user}" and none was given ` +
        `(set PGPASSWORD, add it to ${libpq.passfile} or put a password in the connection string)` +
        (found.ignored ? `; ${found.ignored}` : ''),
      '28P01',
    );
  };
}

/** Run `fn` with a session that is always closed afterwards, whatever happens. */
export async function withClient<T>(target: Target, fn: (client: Client) => Promise<T>, opts: ConnectOptions = {}): Promise<T> {
  const client = await connect(target, opts);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Run `fn` inside BEGIN/COMMIT; ROLLBACK on any error so the session is never left idle in a transaction. */
export async function inTransaction<T>(client: Client, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
