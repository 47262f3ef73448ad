import { connect, type Client } from '../pg/client.js';
import { redact } from '../pg/redact.js';
import { fromUrl } from '../pg/target.js';

/**
 * PgBouncer's admin console (the `pgbouncer` database of a PgBouncer, as an admin_users or
 * stats_users login). It speaks the simple query protocol only: every statement here is a
 * plain string without parameters, so node-postgres sends it as a simple Query message.
 */
export interface PgBouncerServer {
  /** The PgBouncer database (the alias of [databases], not necessarily the PostgreSQL name). */
  database: string;
  user: string;
  state: string;
  /** When PgBouncer opened the server connection, to the second; null when unreadable. */
  connectTime: string | null;
  /** The PostgreSQL backend pid of the connection (pg_stat_activity.pid). */
  remotePid: number | null;
  /** RECONNECT (or a config change) marked it: closed once released. */
  closeNeeded: boolean;
  /** PgBouncer's own id of the connection (its address): tells one connection from another. */
  ptr: string;
}

export interface PgBouncerDatabase {
  name: string;
  /** The PostgreSQL database it points at. */
  database: string;
  host: string | null;
  port: number | null;
}

/** A connected admin console; `display` is the URL without its password. */
export interface PgBouncerConsole {
  display: string;
  client: Client;
  close(): Promise<void>;
}

/** RECONNECT and graceful close came with PgBouncer 1.15. */
export const MIN_RECONNECT_VERSION = [1, 15] as const;

export async function openConsole(url: string, onError?: (err: Error) => void): Promise<PgBouncerConsole> {
  const target = fromUrl(url, '--db');
  const client = await connect(target, { raw: true, appName: 'pgharden', queryTimeoutMs: 10_000, onError: (err) => onError?.(err) });
  return { display: redact(url), client, close: () => client.end().catch(() => undefined) };
}

export async function withConsole<T>(url: string, fn: (c: PgBouncerConsole) => Promise<T>): Promise<T> {
  const c = await openConsole(url);
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

/** PgBouncer's quoting of a database name in admin commands: always double-quoted, `"` doubled. */
export const consoleName = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** "PgBouncer 1.18.0" → [1, 18, 0]. */
export async function version(c: PgBouncerConsole): Promise<{ text: string; parts: number[] }> {
  const { rows } = await c.client.query('SHOW VERSION');
  const text = String(rows[0]?.version ?? '');
  return { text, parts: (/(\d+)\.(\d+)(?:\.(\d+))?/.exec(text) ?? []).slice(1).map((n) => Number(n ?? 0)) };
}

export async function databases(c: PgBouncerConsole): Promise<PgBouncerDatabase[]> {
  const { rows } = await c.client.query('SHOW DATABASES');
  return rows.map((r) => ({ name: r.name, database: r.database, host: r.host || null, port: r.port ? Number(r.port) : null }));
}

/**
 * "2026-11-26 08:37:21 UTC" (PgBouncer's own time zone, to the second). Abbreviations other
 * than UTC/GMT are ambiguous: those read as null, and callers fall back to the backend pid.
 */
export function parseConnectTime(text: string | null | undefined): string | null {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?: (UTC|GMT|[+-]\d{2}(?::?\d{2})?))?$/.exec(String(text ?? '').trim());
  if (!m) return null;
  const zone = !m[3] || m[3] === 'UTC' || m[3] === 'GMT' ? 'Z' : m[3];
  const at = new Date(`${m[1]}T${m[2]}${zone}`);
  return Number.isNaN(at.getTime()) ? null : at.toISOString();
}

export async function servers(c: PgBouncerConsole): Promise<PgBouncerServer[]> {
  const { rows } = await c.client.query('SHOW SERVERS');
  return rows.map((r) => ({
    database: r.database,
    user: r.user,
    state: r.state,
    connectTime: parseConnectTime(r.connect_time),
    remotePid: r.remote_pid ? Number(r.remote_pid) : null,
    closeNeeded: r.close_needed === '1' || r.close_needed === 1,
    ptr: String(r.ptr),
  }));
}

/** RECONNECT <db>: each server connection of the database is closed once released (graceful). */
export async function reconnect(c: PgBouncerConsole, database: string): Promise<void> {
  await c.client.query(`RECONNECT ${consoleName(database)}`);
}
