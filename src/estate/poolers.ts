import type { Client } from '../pg/client.js';
import { redact } from '../pg/redact.js';
import {
  databases,
  MIN_RECONNECT_VERSION,
  reconnect,
  servers,
  version,
  withConsole,
  type PgBouncerConsole,
  type PgBouncerServer,
} from './pgbouncer.js';

/** What RECONNECT did on one PgBouncer. */
export interface PoolerRecycle {
  pooler: string;
  version: string | null;
  /** PgBouncer databases (aliases) pointing at the target database, each sent RECONNECT. */
  databases: string[];
  /** Server connections of those databases when RECONNECT was sent. */
  servers: number;
  /** …closed within the wait (they were idle in the pool, or released meanwhile). */
  recycled: number;
  /** …still linked to a client: PgBouncer closes each once its client releases it. */
  pending: number;
  error?: string;
}

/** The PgBouncer databases that lead to PostgreSQL database `database` (an alias may differ from it). */
async function aliasesOf(c: PgBouncerConsole, database: string): Promise<string[]> {
  return (await databases(c)).filter((d) => d.database === database && d.name !== 'pgbouncer').map((d) => d.name);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * After apply or rollback: `RECONNECT <db>` on each PgBouncer, so the pool's server connections
 * (opened on the old settings) are replaced by new ones that read the new database values. Idle
 * ones go at once; one linked to a client goes when released (graceful: no client is cut off).
 * Counted from SHOW SERVERS before and after, waiting up to `waitMs` for the idle ones to close.
 * A PgBouncer that cannot be reached is an `error` entry, never an exception: the database change
 * itself is done and journaled.
 */
export async function reconnectPoolers(urls: string[], database: string, opts: { waitMs?: number } = {}): Promise<PoolerRecycle[]> {
  return Promise.all(
    urls.map(async (url) => {
      const base: PoolerRecycle = { pooler: redact(url), version: null, databases: [], servers: 0, recycled: 0, pending: 0 };
      try {
        return await withConsole(url, async (c) => {
          const v = await version(c);
          base.version = v.text;
          const [major, minor] = v.parts;
          if (major < MIN_RECONNECT_VERSION[0] || (major === MIN_RECONNECT_VERSION[0] && minor < MIN_RECONNECT_VERSION[1])) {
            return {
              ...base,
              error: `${v.text} has no RECONNECT (PgBouncer 1.15+): restart it, or RELOAD after changing its server_lifetime, to renew its server connections`,
            };
          }
          const aliases = await aliasesOf(c, database);
          const mine = (list: PgBouncerServer[]) => list.filter((s) => aliases.includes(s.database));
          const before = mine(await servers(c));
          for (const alias of aliases) await reconnect(c, alias);
          const marked = new Set(before.map((s) => s.ptr));
          const deadline = performance.now() + (opts.waitMs ?? 2000);
          let left = before.length;
          while (left > 0) {
            left = mine(await servers(c)).filter((s) => marked.has(s.ptr)).length;
            if (!left || performance.now() > deadline) break;
            await sleep(100);
          }
          return { ...base, databases: aliases, servers: before.length, recycled: before.length - left, pending: left };
        });
      } catch (err) {
        return { ...base, error: (err as Error).message };
      }
    }),
  );
}

export const recycleText = (p: PoolerRecycle) =>
  p.error
    ? `PgBouncer ${p.pooler}: RECONNECT failed: ${p.error}`
    : !p.databases.length
      ? `PgBouncer ${p.pooler}: no database of it points at this database (nothing to RECONNECT)`
      : `PgBouncer ${p.pooler}: RECONNECT ${p.databases.join(', ')}: ${p.recycled} of ${p.servers} server connection(s) recycled` +
        (p.pending ? `, ${p.pending} in use (closed once their clients release them)` : '');

/** One PgBouncer in the rollout: its server connections to the database, and those opened before the apply. */
export interface PoolerRollout {
  pooler: string;
  servers: number;
  onOldSettings: number;
  error?: string;
}

/**
 * Server connections PgBouncer opened before the apply run on the old settings (a pool keeps them
 * for server_lifetime, an hour by default). Their start is read from pg_stat_activity through the
 * backend pid when `client` may see it (exact), else from SHOW SERVERS connect_time (to the second:
 * one opened in the apply's own second counts as old, and so does one whose time is unreadable).
 */
export async function poolerRollout(urls: string[], database: string, appliedAt: string, client?: Client): Promise<PoolerRollout[]> {
  const applied = new Date(appliedAt).getTime();
  return Promise.all(
    urls.map(async (url) => {
      try {
        return await withConsole(url, async (c) => {
          const aliases = await aliasesOf(c, database);
          const list = (await servers(c)).filter((s) => aliases.includes(s.database));
          const starts = client
            ? await backendStarts(
                client,
                list.map((s) => s.remotePid).filter((p): p is number => p !== null),
              )
            : new Map<number, number>();
          const old = list.filter((s) => {
            const exact = s.remotePid !== null ? starts.get(s.remotePid) : undefined;
            if (exact !== undefined) return exact < applied;
            return s.connectTime === null || new Date(s.connectTime).getTime() <= applied;
          });
          return { pooler: redact(url), servers: list.length, onOldSettings: old.length };
        });
      } catch (err) {
        return { pooler: redact(url), servers: 0, onOldSettings: 0, error: (err as Error).message };
      }
    }),
  );
}

async function backendStarts(client: Client, pids: number[]): Promise<Map<number, number>> {
  if (!pids.length) return new Map();
  const { rows } = await client.query(
    `SELECT pid, backend_start FROM pg_stat_activity WHERE pid = ANY($1::int[]) AND backend_start IS NOT NULL`,
    [pids],
  );
  return new Map(rows.map((r) => [Number(r.pid), new Date(r.backend_start).getTime()]));
}

export const rolloutText = (p: PoolerRollout) =>
  p.error
    ? `PgBouncer ${p.pooler}: cannot read SHOW SERVERS (${p.error})`
    : `PgBouncer ${p.pooler}: ${p.onOldSettings} of ${p.servers} server connection(s) opened before the apply (old settings until RECONNECT)`;
