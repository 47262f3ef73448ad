import type { Client } from '../pg/client.js';
import { stateSchemaExists } from '../state/store.js';

export interface HistoryRow {
  id: string;
  command: string;
  database: string;
  status: string;
  outcome: string | null;
  operator: string;
  approvedBy: string | null;
  startedAt: string;
  finishedAt: string | null;
  /** A `run` saved its record: /report/<id> renders it. */
  hasReport: boolean;
}

/** Past runs of the database from its pgharden schema, newest first. */
export async function readHistory(client: Client, database: string, limit = 50): Promise<HistoryRow[]> {
  if (!(await stateSchemaExists(client))) return [];
  const { rows } = await client.query(
    `SELECT id, command, database, status, result->>'outcome' AS outcome, operator, approved_by AS "approvedBy",
            started_at AS "startedAt", finished_at AS "finishedAt", result IS NOT NULL AS "hasReport"
       FROM pgharden.runs WHERE database = $1 ORDER BY started_at DESC, id DESC LIMIT $2`,
    [database, limit],
  );
  return rows.map((r) => ({
    ...r,
    startedAt: new Date(r.startedAt).toISOString(),
    finishedAt: r.finishedAt ? new Date(r.finishedAt).toISOString() : null,
  }));
}
