import { UsageError, CheckFailedError } from '../errors.js';
import type { Client } from '../pg/client.js';
import { readDatabaseState, type DatabaseState } from '../pg/catalog.js';
import { connectionLimitSql, restoreSql } from '../plan/operations.js';
import type { StageContext } from '../stage.js';
import { RunDir } from '../state/run-dir.js';
import { getRun, latestAppliedRun, loadBackup, setRunStatus, stateSchemaExists, type RunRow } from '../state/store.js';
import type { Backup } from './backup.js';
import { executeStatements, type Statement, type StepResult } from './execute.js';
import { acquireChangeLock, releaseChangeLock } from './lock.js';
import { dropMonitoringViewIfOurs } from '../monitor/view.js';

export interface RestoreCheck {
  ok: boolean;
  /** What still differs from the pre-apply snapshot, one line each. */
  differences: string[];
}

export interface RollbackResult {
  ok: boolean;
  status: 'rolled_back' | 'nothing_to_roll_back';
  runId: string | null;
  steps: StepResult[];
  check: RestoreCheck | null;
  message: string;
}

/** The statements that put every parameter the run touched back to its captured database-level value. */
export function restoreStatements(backup: Backup, state: DatabaseState): Statement[] {
  const db = backup.database;
  const statements: Statement[] = [];
  for (const name of backup.touched) {
    const before = backup.dbSettings.find((s) => s.name === name)?.value ?? null;
    const now = state.dbSettings.find((s) => s.name === name)?.value ?? null;
    if (before !== now) statements.push({ step: `rollback ${name}`, sql: restoreSql(db, name, before) });
  }
  if (backup.touchesConnectionLimit && state.database.connLimit !== backup.connLimit) {
    statements.push({ step: 'rollback connection_limit', sql: connectionLimitSql(db, backup.connLimit) });
  }
  return statements;
}

/** Compare pg_db_role_setting and datconnlimit with the snapshot taken before apply. */
export function compareWithBackup(backup: Backup, state: DatabaseState): RestoreCheck {
  const differences: string[] = [];
  const diff = (what: string, before: { name: string; value: string }[], after: { name: string; value: string }[]) => {
    const b = new Map(before.map((s) => [s.name, s.value]));
    const a = new Map(after.map((s) => [s.name, s.value]));
    for (const name of new Set([...b.keys(), ...a.keys()])) {
      if (b.get(name) !== a.get(name)) differences.push(`${what} ${name}: was ${b.get(name) ?? '(not set)'}, now ${a.get(name) ?? '(not set)'}`);
    }
  };
  diff('database setting', backup.dbSettings, state.dbSettings);
  diff('all-roles setting', backup.globalSettings, state.globalSettings);
  const roleKey = (r: { role: string | null; scope: string; name: string; value: string }) => ({ name: `${r.name} of role ${r.role} (${r.scope})`, value: r.value });
  diff('role setting', backup.roleSettings.map(roleKey), state.roleSettings.map(roleKey));
  if (backup.connLimit !== state.database.connLimit) {
    differences.push(`connection limit: was ${backup.connLimit}, now ${state.database.connLimit}`);
  }
  return { ok: differences.length === 0, differences };
}

async function findRun(client: Client, database: string, runId?: string): Promise<RunRow | null> {
  if (!(await stateSchemaExists(client))) return null;
  if (!runId) return latestAppliedRun(client, database);
  const run = await getRun(client, runId);
  if (!run) throw new UsageError(`no run ${runId} in this database's pgharden schema (see \`pgharden status\`)`);
  return run;
}

/** Restore exactly the captured state of a run (default: the latest applied one), then prove it. Safe to repeat. */
export async function rollback(ctx: StageContext, client: Client, opts: { runId?: string; lockWaitMs: number }): Promise<RollbackResult> {
  await acquireChangeLock(client, opts.lockWaitMs, () => ctx.log.info('waiting for another pgharden changing this database…'));
  try {
    const run = await findRun(client, ctx.target.database, opts.runId);
    if (!run) {
      return { ok: true, status: 'nothing_to_roll_back', runId: null, steps: [], check: null, message: 'nothing to roll back: no applied run is on record for this database' };
    }
    const runDir = new RunDir(run.id, ctx.runsRoot);
    const backup = (await loadBackup<Backup>(client, run.id)) ?? (await runDir.read<Backup>('backup.json'));
    if (!backup) throw new UsageError(`run ${run.id} has no backup (it never reached the backup step); nothing to restore`);

    const before = await readDatabaseState(client, backup.database);
    const statements = restoreStatements(backup, before);
    await setRunStatus(client, run.id, 'rolling_back');
    ctx.log.info(statements.length ? `restoring ${statements.length} value(s) captured at ${backup.capturedAt} (run ${run.id})…` : `run ${run.id}: values already match the backup`);
    const steps = await executeStatements(client, run.id, runDir, statements);
    await setRunStatus(client, run.id, 'rolled_back');
    await dropMonitoringViewIfOurs(client, run.id, ctx.log);

    const check = compareWithBackup(backup, await readDatabaseState(client, backup.database));
    await runDir.write('rollback-check.json', check);
    if (!check.ok) {
      throw new CheckFailedError(`rollback of run ${run.id} ran, but the database differs from the backup:\n- ${check.differences.join('\n- ')}`).withDetails({ runId: run.id, check });
    }
    return { ok: true, status: 'rolled_back', runId: run.id, steps, check, message: `run ${run.id} rolled back; pg_db_role_setting and the connection limit match the backup` };
  } finally {
    await releaseChangeLock(client);
  }
}
