import type { Client } from '../pg/client.js';
import { RunDir } from '../state/run-dir.js';
import { getRun, loadRunResult, saveRunResult } from '../state/store.js';
import type { ReportedRecord } from './history.js';
import { writeReports } from './write.js';

/**
 * A run's record and reports follow its state: after a later rollback, a report of a passed run
 * must not keep saying the hardening is in force. Updates the stored record (with the change in
 * its state history), and rewrites the report files when this machine holds the run directory.
 */
export async function refreshRunReports(client: Client, runId: string, runsRoot?: string): Promise<ReportedRecord | null> {
  // The run directory's copy first: it keeps the policy's key order, which jsonb does not.
  const dir = new RunDir(runId, runsRoot);
  const local = await dir.read<ReportedRecord>('run.json');
  const stored = await loadRunResult<ReportedRecord>(client, runId);
  const record = local ?? stored;
  // Another machine may have seen a state change this directory has not: the longer history wins.
  if (local && stored?.stateHistory && stored.stateHistory.length > (local.stateHistory?.length ?? 0))
    local.stateHistory = stored.stateHistory;
  const run = await getRun(client, runId);
  if (!record || !run || record.state === run.status) return record;
  record.stateHistory = [
    ...(record.stateHistory ?? []),
    // finished_at moves with every final state the journal records (rolled_back included).
    {
      at: run.finishedAt ? new Date(run.finishedAt).toISOString() : new Date().toISOString(),
      state: run.status,
      note: `the journal (pgharden.runs) after the run: ${run.status === 'rolled_back' ? 'rolled back by pgharden rollback' : `now ${run.status}`}`,
    },
  ];
  record.state = run.status;
  await saveRunResult(client, runId, record);
  if (local) {
    await dir.write('run.json', record);
    await writeReports(record, runsRoot);
  }
  return record;
}
