import type { Client } from '../pg/client.js';
import { inTransaction } from '../pg/client.js';
import { allowedFrom, CHANGES_IN_PLACE, isUnfinished, UNFINISHED, type RunState } from '../run/state.js';
import { assertStateWritable, grantStateReaders } from './grants.js';
import { ADVISORY_LOCKS } from '../pg/advisory-locks.js';

/**
 * The `pgharden` schema in the target database: runs, their journaled steps, the
 * backups taken before any change, and baselines. Each write commits on its own.
 */
const DDL = `
CREATE SCHEMA IF NOT EXISTS pgharden;
COMMENT ON SCHEMA pgharden IS 'pgharden state: runs, journal, backups, baselines';
CREATE TABLE IF NOT EXISTS pgharden.runs (
  id          text PRIMARY KEY,
  command     text NOT NULL,
  database    text NOT NULL,
  status      text NOT NULL,
  operator    text NOT NULL DEFAULT current_user,
  approved_by text,
  policy      jsonb NOT NULL,
  plan        jsonb,
  started_at  timestamptz NOT NULL DEFAULT now(),
  applied_at  timestamptz,
  finished_at timestamptz
);
CREATE TABLE IF NOT EXISTS pgharden.steps (
  id     bigserial PRIMARY KEY,
  run_id text NOT NULL REFERENCES pgharden.runs(id),
  name   text NOT NULL,
  status text NOT NULL,
  detail jsonb,
  at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS pgharden.backups (
  run_id      text PRIMARY KEY REFERENCES pgharden.runs(id),
  captured_at timestamptz NOT NULL,
  state       jsonb NOT NULL
);
CREATE TABLE IF NOT EXISTS pgharden.baselines (
  run_id      text PRIMARY KEY REFERENCES pgharden.runs(id),
  captured_at timestamptz NOT NULL,
  data        jsonb NOT NULL
);
ALTER TABLE pgharden.runs ADD COLUMN IF NOT EXISTS result jsonb;`;

/** Serialises schema creation between concurrent pgharden processes. */
const SCHEMA_LOCK = ADVISORY_LOCKS.stateSchema;

export type RunStatus = RunState;
export { CHANGES_IN_PLACE };

export interface RunRow {
  id: string;
  command: string;
  database: string;
  status: RunStatus;
  operator: string;
  approvedBy: string | null;
  startedAt: string;
  appliedAt: string | null;
  finishedAt: string | null;
  /** The journal's newest entry: where an interrupted run stopped. */
  lastStep?: string | null;
}

export async function ensureStateSchema(client: Client): Promise<void> {
  // A schema another role owns and we may not write: say who owns it and what to grant (grants.ts).
  await assertStateWritable(client);
  // The newest object of the DDL: when it exists, everything before it does too.
  const { rowCount } = await client.query(
    `SELECT 1 FROM information_schema.columns WHERE table_schema = 'pgharden' AND table_name = 'runs' AND column_name = 'result'`,
  );
  await inTransaction(client, async () => {
    // Also around the grants: concurrent GRANTs on one schema fail with "tuple concurrently updated".
    await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
    if (!rowCount) await client.query(DDL);
    // Read access for pg_monitor, so monitoring roles can follow rollouts (a no-op once granted).
    await grantStateReaders(client);
  });
}

/**
 * Create one table of the state schema the first time it is needed. Concurrent
 * `CREATE TABLE IF NOT EXISTS` can still fail (a duplicate pg_type row), so creation is
 * serialised by the table's own advisory lock; once the table exists this is one catalog read.
 */
export async function ensureStateTable(client: Client, table: string, ddl: string, lockKey: number): Promise<void> {
  await ensureStateSchema(client);
  const { rows } = await client.query(`SELECT to_regclass($1) IS NOT NULL AS present`, [`pgharden.${table}`]);
  if (rows[0].present) return;
  await inTransaction(client, async () => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [lockKey]);
    await client.query(ddl);
  });
}

export async function stateSchemaExists(client: Client): Promise<boolean> {
  const { rowCount } = await client.query(`SELECT 1 FROM pg_tables WHERE schemaname = 'pgharden' AND tablename = 'runs'`);
  return Boolean(rowCount);
}

export async function createRun(
  client: Client,
  run: { id: string; command: string; database: string; status: RunStatus; policy: unknown; approvedBy?: string },
) {
  await client.query(
    `INSERT INTO pgharden.runs (id, command, database, status, policy, approved_by) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (id) DO UPDATE SET approved_by = coalesce(excluded.approved_by, runs.approved_by)`,
    [run.id, run.command, run.database, run.status, JSON.stringify(run.policy), run.approvedBy ?? null],
  );
}

/** Raised when a run is no longer in a state from which `to` may follow (someone else moved it on). */
export class RunStateConflict extends Error {
  constructor(
    readonly runId: string,
    readonly to: RunStatus,
    readonly actual: RunStatus | null,
  ) {
    super(`run ${runId} is ${actual ?? 'gone'}, so it cannot become ${to}`);
  }
}

/**
 * Move a run to `status`, only from a state the run state machine allows (checked in the same
 * UPDATE, so two writers cannot both win). A run already in `status` stays there (idempotent).
 */
export async function setRunStatus(client: Client, id: string, status: RunStatus, extra: { plan?: unknown } = {}) {
  const { rowCount } = await client.query(
    `UPDATE pgharden.runs SET status = $2,
            plan = coalesce($3::jsonb, plan),
            applied_at = CASE WHEN $2 IN ('applied', 'verifying', 'guarding') THEN coalesce(applied_at, now()) ELSE applied_at END,
            finished_at = CASE WHEN $2 IN ('applied', 'noop', 'blocked', 'failed', 'rolled_back', 'passed', 'triggered', 'needs_attention') THEN now() ELSE finished_at END
      WHERE id = $1 AND (status = $2 OR status = ANY($4::text[]))`,
    [id, status, extra.plan === undefined ? null : JSON.stringify(extra.plan), allowedFrom(status)],
  );
  if (!rowCount) throw new RunStateConflict(id, status, (await getRun(client, id))?.status ?? null);
}

export async function recordStep(client: Client, runId: string, name: string, status: string, detail: unknown = null) {
  await client.query(`INSERT INTO pgharden.steps (run_id, name, status, detail) VALUES ($1, $2, $3, $4)`, [
    runId,
    name,
    status,
    JSON.stringify(detail),
  ]);
}

export async function saveBackup(client: Client, runId: string, capturedAt: string, state: unknown) {
  await client.query(`INSERT INTO pgharden.backups (run_id, captured_at, state) VALUES ($1, $2, $3) ON CONFLICT (run_id) DO NOTHING`, [
    runId,
    capturedAt,
    JSON.stringify(state),
  ]);
}

export async function saveBaseline(client: Client, runId: string, capturedAt: string, data: unknown) {
  await client.query(
    `INSERT INTO pgharden.baselines (run_id, captured_at, data) VALUES ($1, $2, $3)
     ON CONFLICT (run_id) DO UPDATE SET captured_at = excluded.captured_at, data = excluded.data`,
    [runId, capturedAt, JSON.stringify(data)],
  );
}

export async function loadBackup<T>(client: Client, runId: string): Promise<T | null> {
  const { rows } = await client.query(`SELECT state FROM pgharden.backups WHERE run_id = $1`, [runId]);
  return rows[0]?.state ?? null;
}

export async function loadBaseline<T>(client: Client, runId: string): Promise<T | null> {
  const { rows } = await client.query(`SELECT data FROM pgharden.baselines WHERE run_id = $1`, [runId]);
  return rows[0]?.data ?? null;
}

const RUN_COLUMNS = `id, command, database, status, operator, approved_by AS "approvedBy",
  started_at AS "startedAt", applied_at AS "appliedAt", finished_at AS "finishedAt"`;

export async function getRun(client: Client, id: string): Promise<RunRow | null> {
  const { rows } = await client.query(`SELECT ${RUN_COLUMNS} FROM pgharden.runs WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

export async function listRuns(client: Client, database: string, limit = 10): Promise<RunRow[]> {
  const { rows } = await client.query(
    `SELECT ${RUN_COLUMNS},
            (SELECT s.name || ': ' || s.status FROM pgharden.steps s WHERE s.run_id = runs.id ORDER BY s.id DESC LIMIT 1) AS "lastStep"
       FROM pgharden.runs WHERE database = $1 ORDER BY started_at DESC, id DESC LIMIT $2`,
    [database, limit],
  );
  return rows;
}

/** The latest run whose changes may still be in place (applied, passed, or interrupted on the way). */
export async function latestAppliedRun(client: Client, database: string): Promise<RunRow | null> {
  return (await runsInPlace(client, database))[0] ?? null;
}

/** Runs whose changes may be in place, newest first: rollback goes in this order. */
export async function runsInPlace(client: Client, database: string): Promise<RunRow[]> {
  const { rows } = await client.query(
    `SELECT ${RUN_COLUMNS} FROM pgharden.runs
      WHERE database = $1 AND status = ANY($2::text[])
        AND EXISTS (SELECT 1 FROM pgharden.backups b WHERE b.run_id = runs.id)
      ORDER BY started_at DESC, id DESC`,
    [database, CHANGES_IN_PLACE],
  );
  return rows;
}

/** Runs that stopped half-way (killed, lost server): they must be resumed or rolled back before a new apply. */
export async function unfinishedRuns(client: Client, database: string): Promise<RunRow[]> {
  const { rows } = await client.query(
    `SELECT ${RUN_COLUMNS} FROM pgharden.runs WHERE database = $1 AND status = ANY($2::text[]) ORDER BY started_at DESC, id DESC`,
    [database, [...UNFINISHED, 'applied']],
  );
  return (rows as RunRow[]).filter(isUnfinished);
}

/** The outcome of a `run` (for `report`), stored with the run. */
export async function saveRunResult(client: Client, runId: string, result: unknown): Promise<void> {
  await client.query(`UPDATE pgharden.runs SET result = $2 WHERE id = $1`, [runId, JSON.stringify(result)]);
}

export async function loadRunResult<T>(client: Client, runId: string): Promise<T | null> {
  const { rows } = await client.query(`SELECT result FROM pgharden.runs WHERE id = $1`, [runId]);
  return rows[0]?.result ?? null;
}

export async function listSteps(client: Client, runId: string) {
  const { rows } = await client.query(`SELECT name, status, detail, at FROM pgharden.steps WHERE run_id = $1 ORDER BY id`, [runId]);
  return rows as { name: string; status: string; detail: unknown; at: Date }[];
}

/** The latest `run` that saved a record (what `report` shows by default). */
export async function latestRunWithResult(client: Client, database: string): Promise<string | null> {
  const { rows } = await client.query(
    `SELECT id FROM pgharden.runs WHERE database = $1 AND result IS NOT NULL ORDER BY started_at DESC LIMIT 1`,
    [database],
  );
  return rows[0]?.id ?? null;
}

/** The latest `run` on this database, whatever its state: `run --resume` continues it only if its state allows. */
export async function latestRunCommand(client: Client, database: string): Promise<RunRow | null> {
  const { rows } = await client.query(
    `SELECT ${RUN_COLUMNS} FROM pgharden.runs WHERE database = $1 AND command = 'run' ORDER BY started_at DESC, id DESC LIMIT 1`,
    [database],
  );
  return rows[0] ?? null;
}
