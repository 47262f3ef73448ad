import { BlockedError, ConnectionError, PghardenError, RefusedError, UsageError } from '../errors.js';
import { connect, isConnectFailure, type Client } from '../pg/client.js';
import { planData, planSql, type Plan } from '../plan/plan.js';
import { operationLabel } from '../plan/operations.js';
import { preflight } from '../preflight/preflight.js';
import { readPlan } from '../plan/read-plan.js';
import { faultPoint } from '../run/fault.js';
import { describeState, nextCommand } from '../run/state.js';
import type { StageContext } from '../stage.js';
import { RunDir } from '../state/run-dir.js';
import { loadBackup, recordStep, setRunStatus, unfinishedRuns } from '../state/store.js';
import { captureBackup, writeBackup, type Backup } from './backup.js';
import { executeStatements, type StepResult } from './execute.js';
import { acquireChangeLock, releaseChangeLock } from './lock.js';
import { rollback } from './rollback.js';
import { ensureMonitoringView } from '../monitor/view.js';
import { approvalText, requireApproval } from '../estate/approval.js';
import { checkWindow } from '../estate/window-gate.js';
import { recyclePoolers } from './poolers-step.js';
import type { PoolerRecycle } from '../estate/poolers.js';

export interface ApplyOptions {
  /** How long to wait for another applier's lock (ms). */
  lockWaitMs: number;
  lockTimeoutMs?: number;
  retries?: number;
  approvedBy?: string;
  /** Continue this run (from `run`) instead of starting a new one. */
  runId?: string;
  /** Asked under the change lock with exactly the plan that will be applied; false cancels with nothing changed. */
  confirm?: (plan: Plan) => Promise<boolean>;
  /** --outside-window "reason": change outside the environment's maintenance window, recorded with the run. */
  outsideWindow?: string;
  /** Keep holding the change lock on success (`run` holds it until the end of its guard window). */
  keepLock?: boolean;
}

export interface ApplyResult {
  ok: true;
  status: 'applied' | 'noop';
  runId: string | null;
  runDir: string | null;
  backupFile: string | null;
  plan: ReturnType<typeof planData>;
  steps: StepResult[];
  /** RECONNECT on each PgBouncer of `poolers:` after the change (absent without poolers). */
  poolers?: PoolerRecycle[];
}

export function blockedError(plan: Plan): BlockedError {
  const lines = plan.findings.filter((f) => f.severity === 'blocking').map((f) => `- ${f.message}${f.fix ? `\n  instead: ${f.fix}` : ''}`);
  return new BlockedError(`blocked, nothing was changed:\n${lines.join('\n')}`).withDetails({ findings: plan.findings });
}

const noop = (plan: Plan, runId: string | null = null, runDir: string | null = null): ApplyResult => ({
  ok: true,
  status: 'noop',
  runId,
  runDir,
  backupFile: null,
  plan: planData(plan),
  steps: [],
});

const sameChanges = (a: Plan, b: Plan) => JSON.stringify(planSql(a).forward) === JSON.stringify(planSql(b).forward);

/** A run that stopped half-way must be resumed or rolled back first: a new backup would capture its half-applied state as "prior". */
async function refuseOverUnfinished(client: Client, database: string, ownRunId?: string): Promise<void> {
  const open = (await unfinishedRuns(client, database).catch(() => [])).filter((r) => r.id !== ownRunId);
  if (!open.length) return;
  throw new BlockedError(
    `an earlier run on ${database} did not finish; resolve it before applying again (nothing was changed):\n` +
      open.map((r) => `  run ${r.id} (${r.command}): ${describeState(r.status)}\n    next: ${nextCommand(r)}`).join('\n'),
  ).withDetails({ unfinished: open.map((r) => ({ runId: r.id, status: r.status, next: nextCommand(r) })) });
}

/** Re-read the plan under the lock and ask about exactly that one; ask again if the database changed while the person decided. */
async function confirmedPlan(
  ctx: StageContext,
  client: Client,
  confirm?: ApplyOptions['confirm'],
): Promise<Awaited<ReturnType<typeof readPlan>>> {
  let read = await readPlan(ctx, client);
  while (confirm && !read.plan.blocked && read.plan.operations.length) {
    if (!(await confirm(read.plan))) throw new UsageError('cancelled: nothing was changed');
    const again = await readPlan(ctx, client);
    if (sameChanges(again.plan, read.plan)) break;
    ctx.log.warn('the database changed while you were deciding; this is the plan now:');
    read = again;
  }
  return read;
}

/**
 * Where the environment requires it, the plan about to be applied (read under the change lock)
 * must carry a four-eyes approval of its exact hash. A resumed run past its backup was approved
 * when it started: its half-applied state is no longer the plan anyone approved.
 */
async function approvalFor(
  ctx: StageContext,
  client: Client,
  read: Awaited<ReturnType<typeof readPlan>>,
  opts: ApplyOptions,
): Promise<string | undefined> {
  if (ctx.environment?.approval !== 'required' || !read.plan.operations.length) return opts.approvedBy;
  if (opts.runId && (await loadBackup(client, opts.runId))) return opts.approvedBy;
  const approval = await requireApproval(client, ctx.policy, read.state, read.plan);
  ctx.log.info(`approved: ${approvalText(approval)}`);
  return approvalText(approval);
}

/**
 * A change failed part-way: undo the ones already applied before reporting (as pgroll does on a
 * failed start), over a fresh session when ours is gone. If the server cannot be reached, the run
 * stays `applying` and the error names the command that finishes the job.
 */
async function undoPartialApply(
  ctx: StageContext,
  client: Client,
  runId: string,
  err: unknown,
  opts: ApplyOptions,
): Promise<PghardenError> {
  const cause = `${(err as Error).message}${(err as { code?: string }).code ? ` (SQLSTATE ${(err as { code?: string }).code})` : ''}`;
  let session = client;
  let fresh: Client | null = null;
  try {
    if (
      isConnectFailure(err) ||
      !(await client.query('SELECT 1').then(
        () => true,
        () => false,
      ))
    ) {
      fresh = await connect(ctx.target, { appName: 'pgharden rollback' });
      await acquireChangeLock(fresh, opts.lockWaitMs);
      session = fresh;
    }
    const undone = await rollback(ctx, session, { runId, lockWaitMs: opts.lockWaitMs, lockHeld: true, force: false });
    const message = `apply of run ${runId} failed part-way: ${cause}. The ${undone.steps.length} change(s) already applied were rolled back; the database is as it was.`;
    const e = err as { code?: string };
    return (isConnectFailure(err) ? new ConnectionError(message, e.code) : new RefusedError(message, e.code)).withDetails({
      runId,
      rolledBack: undone,
    });
  } catch (undoErr) {
    await setRunStatus(session, runId, 'needs_attention').catch(() => undefined);
    return new ConnectionError(
      `apply of run ${runId} failed part-way (${cause}) and its changes could not be undone now (${(undoErr as Error).message}). ` +
        `Some changes may be in place. When the server answers: pgharden rollback --run ${runId}`,
    ).withDetails({ runId, next: `pgharden rollback --run ${runId}` });
  } finally {
    if (fresh) {
      await releaseChangeLock(fresh);
      await fresh.end().catch(() => undefined);
    }
  }
}

/**
 * preflight → backup → changes, under the change lock. The plan is read (and confirmed) once
 * the lock is held, so of two concurrent appliers the second finds nothing left to do, and a
 * person approves exactly what is applied.
 */
export async function apply(ctx: StageContext, client: Client, opts: ApplyOptions): Promise<ApplyResult> {
  const first = await readPlan(ctx, client);
  if (first.plan.blocked) throw blockedError(first.plan);
  if (!first.plan.operations.length && !opts.runId) return noop(first.plan);
  // A `run` (opts.runId) decided on its window in its own preflight stage.
  const window = opts.runId ? null : checkWindow(ctx, opts.outsideWindow);

  await acquireChangeLock(client, opts.lockWaitMs, (h) =>
    ctx.log.info(`waiting for another pgharden applying to this database${h ? ` (pid ${h.pid}, ${h.usename})` : ''}…`),
  );
  let keepLock = false;
  let runId: string | null = opts.runId ?? null;
  let changing = false;
  try {
    await refuseOverUnfinished(client, ctx.target.database, opts.runId);
    const confirmed = await confirmedPlan(ctx, client, opts.confirm);
    if (confirmed.plan.blocked) throw blockedError(confirmed.plan);
    const approvedBy = await approvalFor(ctx, client, confirmed, opts);
    const pre = await preflight(ctx, client, { command: 'apply', runId: opts.runId, approvedBy });
    runId = pre.runId;
    ctx.events?.setRunId(runId);
    if (pre.blocked) throw blockedError(pre.plan);
    if (window) await recordStep(client, runId, 'window', window.inside ? 'done' : 'overridden', window);
    const runDir = new RunDir(runId, ctx.runsRoot);
    // A resumed run keeps the backup it took before its first change: the state now may be half-applied.
    const existing = opts.runId ? await loadBackup<Backup>(client, runId) : null;
    if (!pre.plan.operations.length && !existing) {
      await setRunStatus(client, runId, 'noop', { plan: planData(pre.plan) });
      keepLock = Boolean(opts.keepLock);
      return noop(pre.plan, runId, pre.runDir);
    }
    const backupFile = existing
      ? runDir.dir + '/backup.json'
      : await writeBackup(client, runDir, captureBackup(pre.state, pre.plan, runId));
    if (!existing) {
      await recordStep(client, runId, 'backup', 'done', { file: backupFile });
      faultPoint('backup');
    }
    // A resumed run with nothing left to apply goes straight on to `applied`.
    if (pre.plan.operations.length) await setRunStatus(client, runId, 'applying', existing ? {} : { plan: planData(pre.plan) });
    changing = true;
    ctx.log.info(`backup of prior values committed (run ${runId}); applying ${pre.plan.operations.length} change(s)…`);

    const db = pre.state.database.name;
    const { steps } = await executeStatements(
      client,
      runId,
      runDir,
      pre.plan.operations.map((op) => ({
        step: op.kind === op.name ? op.kind : `${op.kind} ${operationLabel(op)}`,
        sql: op.forwardSql(db),
      })),
      {
        lockTimeoutMs: opts.lockTimeoutMs,
        retries: opts.retries,
        onRetry: (step, attempt, wait) => ctx.log.warn(`${step}: lock timeout, retry ${attempt} in ${wait}ms`),
        onStep: (s) => {
          if (s.ok) ctx.events?.emit({ type: 'change.applied', step: s.step, sql: s.sql, attempts: s.attempts, ms: Math.round(s.ms) });
        },
      },
    );
    changing = false;
    await setRunStatus(client, runId, 'applied');
    faultPoint('applied');
    await ensureMonitoringView(client, runId, ctx.log);
    const poolers = await recyclePoolers(ctx, client, runId);
    keepLock = Boolean(opts.keepLock);
    return {
      ok: true,
      status: 'applied',
      runId,
      runDir: runDir.dir,
      backupFile,
      plan: planData(pre.plan),
      steps,
      ...(poolers ? { poolers } : {}),
    };
  } catch (err) {
    if (changing && runId) throw await undoPartialApply(ctx, client, runId, err, opts);
    // Before the first change: nothing of this run is in place.
    if (runId && !opts.runId) await setRunStatus(client, runId, 'failed').catch(() => undefined);
    throw err;
  } finally {
    if (!keepLock) await releaseChangeLock(client);
  }
}
