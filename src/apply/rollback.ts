import { CheckFailedError, RefusedError, UsageError } from '../errors.js';
import type { Client } from '../pg/client.js';
import { readDatabaseState, type DatabaseState } from '../pg/catalog.js';
import { connectionLimitSql, operationLabel, restoreSql, type OperationRecord } from '../plan/operations.js';
import { nextCommand } from '../run/state.js';
import type { StageContext } from '../stage.js';
import { RunDir } from '../state/run-dir.js';
import { getRun, loadBackup, runsInPlace, setRunStatus, stateSchemaExists, type RunRow } from '../state/store.js';
import type { Backup } from './backup.js';
import { executeStatements, type Statement, type StepFailure, type StepResult } from './execute.js';
import { acquireChangeLock, releaseChangeLock } from './lock.js';
import { dropMonitoringViewIfOurs } from '../monitor/view.js';
import { CHANGES_IN_PLACE } from '../run/state.js';
import { recyclePoolers } from './poolers-step.js';
import type { PoolerRecycle } from '../estate/poolers.js';

/** One value the run changed, seen three ways. */
export interface ThreeWay {
  name: string;
  /** Set for a role's value in the database (role_set/role_reset records). */
  role?: string;
  /** Database-level value before the run (null: not set); for connection_limit the old limit. */
  before: string | null;
  /** What the run set. */
  applied: string | null;
  /** What the database holds now. */
  now: string | null;
}

export interface RestoreCheck {
  ok: boolean;
  /** What still differs from the pre-apply snapshot, one line each (only values the run touched). */
  differences: string[];
}

export interface RollbackResult {
  ok: boolean;
  status: 'rolled_back' | 'nothing_to_roll_back';
  runId: string | null;
  steps: StepResult[];
  /** Values a person changed after the run, overwritten only with --force. */
  conflicts: ThreeWay[];
  check: RestoreCheck | null;
  message: string;
  /** RECONNECT on each PgBouncer of `poolers:` after the restore (absent without poolers or without a change). */
  poolers?: PoolerRecycle[];
}

const show = (v: string | null) => (v === null ? '(not set)' : v);

function current(op: OperationRecord, state: DatabaseState): string | null {
  if (op.kind === 'connection_limit') return String(state.database.connLimit);
  // Role ops own exactly the role's entry in this database; a role-wide (ALTER ROLE r SET) value is someone else's.
  if (op.role !== undefined)
    return state.roleSettings.find((r) => r.role === op.role && r.scope === 'in-database' && r.name === op.name)?.value ?? null;
  return state.dbSettings.find((s) => s.name === op.name)?.value ?? null;
}

/** Each value the run changed: before, applied, now. Values the run did not touch are never looked at. */
export function threeWay(backup: Backup, state: DatabaseState): ThreeWay[] {
  return backup.operations.map((op) => ({
    name: op.name,
    ...(op.role !== undefined ? { role: op.role } : {}),
    before: op.before,
    applied: op.after,
    now: current(op, state),
  }));
}

/**
 * The restore of a three-way merge: put back `before` where the value is still what the run set;
 * leave alone what is already back; a value a person changed since is a conflict, overwritten
 * only when forced.
 */
export function restorePlan(backup: Backup, state: DatabaseState, force = false): { statements: Statement[]; conflicts: ThreeWay[] } {
  const statements: Statement[] = [];
  const conflicts: ThreeWay[] = [];
  for (const v of threeWay(backup, state)) {
    if (v.now === v.before) continue;
    if (v.now !== v.applied) {
      conflicts.push(v);
      if (!force) continue;
    }
    const sql =
      v.name === 'connection_limit' && v.role === undefined
        ? connectionLimitSql(backup.database, Number(v.before))
        : restoreSql(backup.database, v.name, v.before, v.role);
    statements.push({ step: `rollback ${operationLabel(v)}`, sql });
  }
  return { statements, conflicts };
}

/** After a restore: every value the run changed is back to what it was (conflicts left alone are not counted). */
export function checkRestore(backup: Backup, state: DatabaseState, skipped: string[] = []): RestoreCheck {
  const differences = threeWay(backup, state)
    .filter((v) => v.now !== v.before && !skipped.includes(operationLabel(v)))
    .map((v) => `${operationLabel(v)}: was ${show(v.before)} before the run, now ${show(v.now)}`);
  return { ok: differences.length === 0, differences };
}

async function findRun(client: Client, database: string, runId?: string): Promise<RunRow | null> {
  if (!(await stateSchemaExists(client))) return null;
  if (!runId) return (await runsInPlace(client, database))[0] ?? null;
  const run = await getRun(client, runId);
  if (!run) throw new UsageError(`no run ${runId} in this database's pgharden schema (see \`pgharden status\`)`);
  return run;
}

/** Newer runs still in place must be rolled back first: undoing an older one underneath them would mix two states. */
async function refuseOutOfOrder(client: Client, run: RunRow): Promise<void> {
  const inPlace = await runsInPlace(client, run.database);
  const newer = inPlace.slice(
    0,
    inPlace.findIndex((r) => r.id === run.id),
  );
  if (!newer.length) return;
  throw new CheckFailedError(
    `run ${run.id} is not the latest run in place on ${run.database}: roll back newest first:\n` +
      [...newer, run]
        .map((r) => `  pgharden rollback --run ${r.id}   (${r.status}, started ${new Date(r.startedAt).toISOString()})`)
        .join('\n') +
      '\nor pass --force to restore its values underneath the newer runs. Nothing was changed.',
  ).withDetails({ runId: run.id, newer: newer.map((r) => r.id) });
}

function conflictError(run: RunRow, conflicts: ThreeWay[]): CheckFailedError {
  return new CheckFailedError(
    `run ${run.id}: ${conflicts.length} value(s) were changed by someone after the run, so rollback would overwrite their work:\n` +
      conflicts.map((c) => `  ${operationLabel(c)}: was ${show(c.before)}, the run set ${show(c.applied)}, now ${show(c.now)}`).join('\n') +
      '\nNothing was changed. Restore them anyway with --force, or leave them and roll back nothing.',
  ).withDetails({ runId: run.id, conflicts });
}

function refusedError(run: RunRow, steps: StepResult[], failures: StepFailure[]): RefusedError {
  const lines = [
    ...steps.map((s) => `  restored: ${s.sql}`),
    ...failures.map((f) => `  REFUSED:  ${f.sql} — ${f.error.message}${f.error.code ? ` (SQLSTATE ${f.error.code})` : ''}`),
  ];
  return new RefusedError(
    `rollback of run ${run.id} restored ${steps.length} value(s); the database refused ${failures.length}:\n${lines.join('\n')}\n` +
      `The run needs attention: fix the cause (e.g. grant SET on the parameter, or connect as a superuser) and run: ${nextCommand({ ...run, status: 'needs_attention' })}`,
    failures[0].error.code,
  ).withDetails({
    runId: run.id,
    restored: steps,
    refused: failures.map((f) => ({ step: f.step, sql: f.sql, error: f.error.message, code: f.error.code })),
  });
}

export interface RollbackOptions {
  runId?: string;
  lockWaitMs: number;
  /** Overwrite values changed since the run, and roll back out of order. */
  force?: boolean;
  /** The caller already holds the change lock (a `run` holds it from apply to the end of its window). */
  lockHeld?: boolean;
}

/** Restore exactly the captured values of a run (default: the latest in place), then prove it. Safe to repeat. */
export async function rollback(ctx: StageContext, client: Client, opts: RollbackOptions): Promise<RollbackResult> {
  if (!opts.lockHeld)
    await acquireChangeLock(client, opts.lockWaitMs, () => ctx.log.info('waiting for another pgharden changing this database…'));
  try {
    const run = await findRun(client, ctx.target.database, opts.runId);
    const none = (message: string): RollbackResult => ({
      ok: true,
      status: 'nothing_to_roll_back',
      runId: run?.id ?? null,
      steps: [],
      conflicts: [],
      check: null,
      message,
    });
    if (!run) return none('nothing to roll back: no run with changes in place is on record for this database');
    ctx.events?.setRunId(run.id);
    if (run.status === 'rolled_back') return none(`run ${run.id} is already rolled back`);
    if (!CHANGES_IN_PLACE.includes(run.status)) return none(`run ${run.id} changed nothing (${run.status}): nothing to roll back`);
    if (!opts.force) await refuseOutOfOrder(client, run);

    const runDir = new RunDir(run.id, ctx.runsRoot);
    const backup = (await loadBackup<Backup>(client, run.id)) ?? (await runDir.read<Backup>('backup.json'));
    if (!backup) {
      // A run is only ever in place after its backup committed; without one nothing of it was applied.
      await setRunStatus(client, run.id, 'failed').catch(() => undefined);
      return none(`run ${run.id} has no backup: it stopped before its first change, so nothing is in place`);
    }

    const { statements, conflicts } = restorePlan(backup, await readDatabaseState(client, backup.database), opts.force);
    if (conflicts.length && !opts.force) throw conflictError(run, conflicts);
    await setRunStatus(client, run.id, 'rolling_back');
    ctx.log.info(
      statements.length
        ? `restoring ${statements.length} value(s) captured at ${backup.capturedAt} (run ${run.id})…`
        : `run ${run.id}: values already match the backup`,
    );
    const { steps, failures } = await executeStatements(client, run.id, runDir, statements, {
      keepGoing: true,
      onStep: (s) =>
        ctx.events?.emit({ type: 'rollback.step', step: s.step, sql: s.sql, ok: s.ok, ...(s.error ? { error: s.error } : {}) }),
    });
    if (failures.length) {
      await setRunStatus(client, run.id, 'needs_attention');
      throw refusedError(run, steps, failures);
    }
    const check = checkRestore(backup, await readDatabaseState(client, backup.database));
    await runDir.write('rollback-check.json', check);
    if (!check.ok) {
      await setRunStatus(client, run.id, 'needs_attention');
      throw new CheckFailedError(
        `rollback of run ${run.id} ran, but values differ from the backup:\n- ${check.differences.join('\n- ')}`,
      ).withDetails({ runId: run.id, check });
    }
    await setRunStatus(client, run.id, 'rolled_back');
    await dropMonitoringViewIfOurs(client, run.id, ctx.log);
    const poolers = steps.length ? await recyclePoolers(ctx, client, run.id) : null;
    const forced = conflicts.length ? ` (--force: ${conflicts.length} value(s) changed since the run were overwritten too)` : '';
    return {
      ok: true,
      status: 'rolled_back',
      runId: run.id,
      steps,
      conflicts,
      check,
      message: `run ${run.id} rolled back: every value it changed is back to its captured value${forced}`,
      ...(poolers ? { poolers } : {}),
    };
  } finally {
    if (!opts.lockHeld) await releaseChangeLock(client);
  }
}
