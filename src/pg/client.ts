import pg from 'pg';
import { ConnectionError } from '../errors.js';
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
  /** Called when the server ends the session outside a query (57P01, 25P03, network loss). */
  onError?: (err: Error) => void;
}

const DEFAULT_TOOL_STATEMENT_TIMEOUT_MS = 120_000;

/** SQLSTATE classes and Node errors that mean "we never got a usable session". */
const CONNECT_FAILURE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET', 'EAI_AGAIN']);

export function isConnectFailure(err: unknown): boolean {
  const code = (err as { code?: string })?.code ?? '';
  return CONNECT_FAILURE_CODES.has(code) || /^(08|28|3D|53|57P0)/.test(code);
}

export function connectionFailure(err: unknown, target: Target): ConnectionError {
  const e = err as { code?: string; message?: string };
  const why = e.message || e.code || String(err);
  return new ConnectionError(`cannot connect to ${target.display}: ${why}${e.code && !why.includes(e.code) ? ` (${e.code})` : ''}`, e.code);
}

/**
 * Open a session. Tool sessions get an explicit statement_timeout and never time
 * out while idle, so the settings we apply cannot kill our own connection.
 */
export async function connect(target: Target, opts: ConnectOptions = {}): Promise<Client> {
  const config: pg.ClientConfig = {
    ...target.config,
    application_name: opts.appName ?? 'pgharden',
    connectionTimeoutMillis: 10_000,
  };
  if (!opts.raw) {
    const timeout = opts.statementTimeoutMs ?? DEFAULT_TOOL_STATEMENT_TIMEOUT_MS;
    // Appended, so options from the user's URL or PGOPTIONS (search_path, …) still apply.
    const own = `-c statement_timeout=${timeout} -c idle_in_transaction_session_timeout=0`;
    config.options = [config.options ?? process.env.PGOPTIONS, own].filter(Boolean).join(' ');
    // A network that silently drops packets never answers: give up client-side soon after the server would.
    config.query_timeout = timeout + 15_000;
  }
  const client = new pg.Client(config);
  client.on('error', (err) => opts.onError?.(err));
  try {
    await client.connect();
    if (!opts.raw) {
      // Newer timeouts (PG 14+/17+) that would also end an idle tool session.
      await client.query(
        `SELECT set_config(name, '0', false) FROM pg_settings WHERE name IN ('idle_session_timeout', 'transaction_timeout')`,
      );
    }
  } catch (err) {
    await client.end().catch(() => undefined);
    throw isConnectFailure(err) ? connectionFailure(err, target) : err;
  }
  return client;
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
