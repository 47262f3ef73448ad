import type { Client } from '../pg/client.js';
import { ADVISORY_LOCKS } from '../pg/advisory-locks.js';
import { ensureStateTable } from './store.js';
import type { RunEvent } from '../events/types.js';

/**
 * pgharden.events: the run journal's event log, written as things happen (a guard window's
 * samples included), so another process (`pgharden serve`, on another machine too) can follow a
 * live run. Each insert notifies EVENTS_CHANNEL with the run id; readers also poll, since a
 * notification is only a hint (lost while the listener reconnects).
 */
export const EVENTS_CHANNEL = 'pgharden_events';

const DDL = `
CREATE TABLE IF NOT EXISTS pgharden.events (
  id     bigserial PRIMARY KEY,
  run_id text NOT NULL,
  seq    int NOT NULL,
  type   text NOT NULL,
  at     timestamptz NOT NULL,
  data   jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS events_run_id ON pgharden.events (run_id, id);`;

export async function ensureEventsTable(client: Client): Promise<void> {
  await ensureStateTable(client, 'events', DDL, ADVISORY_LOCKS.eventsTable);
}

export async function eventsTableExists(client: Client): Promise<boolean> {
  const { rows } = await client.query(`SELECT to_regclass('pgharden.events') IS NOT NULL AS present`);
  return rows[0].present;
}

/** Insert a batch in one statement, and notify listeners in the same transaction (delivered at commit). */
export async function insertEvents(client: Client, events: RunEvent[]): Promise<void> {
  if (!events.length) return;
  await client.query(
    `WITH ins AS (
       INSERT INTO pgharden.events (run_id, seq, type, at, data)
       SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::timestamptz[], $5::jsonb[])
       RETURNING run_id)
     SELECT pg_notify($6, run_id) FROM (SELECT DISTINCT run_id FROM ins) r`,
    [
      events.map((e) => e.runId),
      events.map((e) => e.seq),
      events.map((e) => e.type),
      events.map((e) => e.at),
      events.map((e) => JSON.stringify(e)),
      EVENTS_CHANNEL,
    ],
  );
}

export interface StoredEvent {
  id: number;
  event: RunEvent;
}

/** Events after `afterId` (all runs, or one), oldest first. */
export async function readEvents(client: Client, opts: { afterId?: number; runId?: string; limit?: number } = {}): Promise<StoredEvent[]> {
  const { rows } = await client.query(
    `SELECT id, data FROM pgharden.events WHERE id > $1 AND ($2::text IS NULL OR run_id = $2) ORDER BY id LIMIT $3`,
    [opts.afterId ?? 0, opts.runId ?? null, opts.limit ?? 5000],
  );
  return rows.map((r) => ({ id: Number(r.id), event: r.data as RunEvent }));
}

/** The newest event id (where a live tail starts). */
export async function lastEventId(client: Client): Promise<number> {
  const { rows } = await client.query(`SELECT coalesce(max(id), 0) AS id FROM pgharden.events`);
  return Number(rows[0].id);
}
