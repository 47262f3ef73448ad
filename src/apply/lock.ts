import { BlockedError } from '../errors.js';
import type { Client } from '../pg/client.js';

/** Advisory lock key shared by apply, rollback and migrate: ('pghd', 1). One changer per database at a time. */
export const CHANGE_LOCK = { classid: 0x70676864, objid: 1 } as const;

export interface LockHolder {
  pid: number;
  usename: string | null;
  applicationName: string;
  since: string;
}

async function holder(client: Client): Promise<LockHolder | null> {
  const { rows } = await client.query(
    `SELECT a.pid, a.usename, a.application_name AS "applicationName", a.backend_start AS since
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [CHANGE_LOCK.classid, CHANGE_LOCK.objid],
  );
  return rows[0] ?? null;
}

/**
 * Take the session-level change lock, waiting up to `waitMs` for another applier.
 * Session-level (not transaction-level) so the tool's session is never idle in a transaction while holding it.
 */
export async function acquireChangeLock(client: Client, waitMs: number, onWait?: (h: LockHolder | null) => void): Promise<void> {
  const deadline = Date.now() + waitMs;
  let told = false;
  for (;;) {
    const { rows } = await client.query('SELECT pg_try_advisory_lock($1::int, $2::int) AS ok', [CHANGE_LOCK.classid, CHANGE_LOCK.objid]);
    if (rows[0].ok) return;
    const h = await holder(client);
    if (Date.now() >= deadline) {
      throw new BlockedError(
        `another pgharden is changing this database${h ? ` (pid ${h.pid}, ${h.usename}, ${h.applicationName})` : ''}; gave up after ${Math.round(waitMs / 1000)}s (--lock-wait). Nothing was changed.`,
      );
    }
    if (!told) onWait?.(h);
    told = true;
    await new Promise((r) => setTimeout(r, Math.min(250, Math.max(0, deadline - Date.now()))));
  }
}

export async function releaseChangeLock(client: Client): Promise<void> {
  await client.query('SELECT pg_advisory_unlock($1::int, $2::int)', [CHANGE_LOCK.classid, CHANGE_LOCK.objid]).catch(() => undefined);
}
