import type { Client } from '../pg/client.js';
import type { RunRecord } from '../run/run.js';
import { RunDir } from '../state/run-dir.js';
import { getRun, loadRunResult, saveRunResult } from '../state/store.js';
import { writeReports } from './write.js';

/**
 * A run's record and reports follow its state: after a later rollback, a report of a passed run
 * must not keep saying the hardening is in force. Updates the stored record, and rewrites the
 * report files when this machine holds the run directory.
 */
export async function refreshRunReports(client: Client, runId: string, runsRoot?: string): Promise<RunRecord | null> {
  const record = await loadRunResult<RunRecord>(client, runId);
  const run = await getRun(client, runId);
  if (!record || !run || record.state === run.status) return record;
  record.state = run.status;
  await saveRunResult(client, runId, record);
  if (await new RunDir(runId, runsRoot).read('run.json')) {
    await new RunDir(runId, runsRoot).write('run.json', record);
    await writeReports(record, runsRoot);
  }
  return record;
}
