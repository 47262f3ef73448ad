import type { Client } from '../pg/client.js';
import type { RunDir } from '../state/run-dir.js';
import { ensureStateTable } from '../state/store.js';
import type { LoadResult } from './run-load.js';
import { ADVISORY_LOCKS } from '../pg/advisory-locks.js';

const DDL = `
CREATE TABLE IF NOT EXISTS pgharden.loadtests (
  id          bigserial PRIMARY KEY,
  run_id      text NOT NULL,
  label       text,
  engine      text NOT NULL,
  workload    text NOT NULL,
  clients     int NOT NULL,
  duration_ms int NOT NULL,
  tps         float8 NOT NULL,
  p50_ms      float8 NOT NULL,
  p95_ms      float8 NOT NULL,
  p99_ms      float8 NOT NULL,
  max_ms      float8 NOT NULL,
  errors      jsonb NOT NULL,
  result      jsonb NOT NULL,
  started_at  timestamptz NOT NULL,
  saved_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS loadtests_run_id ON pgharden.loadtests (run_id);`;

async function ensureLoadtestsTable(client: Client): Promise<void> {
  await ensureStateTable(client, 'loadtests', DDL, ADVISORY_LOCKS.loadtests);
}

/** File name in the run directory: `loadtest.json`, or `loadtest-<label>.json` (baseline, after-apply, …). */
export const loadtestFile = (label?: string) => (label ? `loadtest-${label.replace(/[^A-Za-z0-9_.-]/g, '_')}.json` : 'loadtest.json');

/** Keep a result where a later run can compare with it: the run directory and pgharden.loadtests. */
export async function saveLoadResult(client: Client, runDir: RunDir, result: LoadResult, label?: string): Promise<string> {
  const file = await runDir.write(loadtestFile(label), result);
  await ensureLoadtestsTable(client);
  const l = result.latency;
  await client.query(
    `INSERT INTO pgharden.loadtests (run_id, label, engine, workload, clients, duration_ms, tps, p50_ms, p95_ms, p99_ms, max_ms, errors, result, started_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
    [
      runDir.runId,
      label ?? null,
      result.engine,
      result.workload,
      result.clients,
      result.durationMs,
      result.tps,
      l.p50Ms,
      l.p95Ms,
      l.p99Ms,
      l.maxMs,
      JSON.stringify(result.errors),
      JSON.stringify(result),
      result.startedAt,
    ],
  );
  return file;
}

/** The results stored for a run, oldest first (for comparing a baseline with an after-apply run). */
export async function loadLoadResults(client: Client, runId: string): Promise<{ label: string | null; result: LoadResult }[]> {
  const { rows } = await client.query(`SELECT to_regclass('pgharden.loadtests') IS NOT NULL AS present`);
  if (!rows[0].present) return [];
  const found = await client.query(`SELECT label, result FROM pgharden.loadtests WHERE run_id = $1 ORDER BY id`, [runId]);
  return found.rows;
}
