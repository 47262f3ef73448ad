import type { Client } from '../pg/client.js';
import { ensureStateTable } from '../state/store.js';
import type { AlertTransition } from './engine.js';
import { ADVISORY_LOCKS } from '../pg/advisory-locks.js';

/**
 * `pgharden.alerts`: alert transitions kept in the database's state schema (monitor --record),
 * one row per firing and per resolution, so reports and the guard can read what fired when.
 */
const DDL = `
CREATE TABLE IF NOT EXISTS pgharden.alerts (
  id        bigserial PRIMARY KEY,
  database  text NOT NULL,
  rule      text NOT NULL,
  severity  text NOT NULL,
  state     text NOT NULL CHECK (state IN ('firing', 'resolved')),
  key       text NOT NULL,
  at        timestamptz NOT NULL,
  since     timestamptz NOT NULL,
  value     double precision NOT NULL,
  threshold double precision NOT NULL,
  pid       integer,
  usename   text,
  message   text NOT NULL,
  query     text
);
CREATE INDEX IF NOT EXISTS alerts_database_at ON pgharden.alerts (database, at);`;

export async function ensureAlertsTable(client: Client): Promise<void> {
  await ensureStateTable(client, 'alerts', DDL, ADVISORY_LOCKS.alertsTable);
}

export async function recordTransition(client: Client, t: AlertTransition): Promise<void> {
  await client.query(
    `INSERT INTO pgharden.alerts (database, rule, severity, state, key, at, since, value, threshold, pid, usename, message, query)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
    [
      t.database,
      t.rule,
      t.severity,
      t.state,
      t.key,
      t.at,
      t.since,
      t.value,
      t.threshold,
      t.pid ?? null,
      t.usename ?? null,
      t.message,
      t.query ?? null,
    ],
  );
}

export interface StoredAlert {
  rule: string;
  severity: string;
  state: 'firing' | 'resolved';
  key: string;
  at: string;
  pid: number | null;
  message: string;
}

/** Transitions recorded for a database since a time (oldest first); [] when none were ever recorded. */
export async function listAlerts(client: Client, database: string, since: string | Date = new Date(0)): Promise<StoredAlert[]> {
  const { rows } = await client.query(`SELECT to_regclass('pgharden.alerts') IS NOT NULL AS present`);
  if (!rows[0].present) return [];
  const found = await client.query(
    `SELECT rule, severity, state, key, at, pid, message FROM pgharden.alerts WHERE database = $1 AND at >= $2 ORDER BY at, id`,
    [database, since],
  );
  return found.rows.map((r) => ({ ...r, at: new Date(r.at).toISOString() }));
}
