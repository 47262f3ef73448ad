import { BlockedError, UsageError } from '../errors.js';
import type { Client } from '../pg/client.js';
import { planData, type Plan } from '../plan/plan.js';
import { preflight, readPlan } from '../preflight/preflight.js';
import type { StageContext } from '../stage.js';
import { RunDir } from '../state/run-dir.js';
import { recordStep, setRunStatus } from '../state/store.js';
import { captureBackup, writeBackup } from './backup.js';
import { executeStatements, type StepResult } from './execute.js';
import { acquireChangeLock, releaseChangeLock } from './lock.js';
import { ensureMonitoringView } from '../monitor/view.js';

export interface ApplyOptions {
  /** How long to wait for another applier's lock (ms). */
  lockWaitMs: number;
  lockTimeoutMs?: number;
  retries?: number;
  approvedBy?: string;
  /** Continue this run (from `run`) instead of starting a new one. */
  runId?: string;
  /** Asked once the plan is known and before anything is written; false cancels with nothing changed. */
  confirm?: (plan: Plan) => Promise<boolean>;
}

export interface ApplyResult {
  ok: true;
  status: 'applied' | 'noop';
  runId: string | null;
  runDir: string | null;
  backupFile: string | null;
  plan: ReturnType<typeof planData>;
  steps: StepResult[];
}

export function blockedError(plan: Plan): BlockedError {
  const lines = plan.findings.filter((f) => f.severity === 'blocking').map((f) => `- ${f.message}${f.fix ? `\n  instead: ${f.fix}` : ''}`);
  return new BlockedError(`blocked, nothing was changed:\n${lines.join('\n')}`).withDetails({ findings: plan.findings });
}

const noop = (plan: Plan, runId: string | null = null, runDir: string | null = null): ApplyResult =>
  ({ ok: true, status: 'noop', runId, runDir, backupFile: null, plan: planData(plan), steps: [] });

/**
 * preflight → backup → changes, under the change lock. The plan is re-read once the lock
 * is held, so of two concurrent appliers the second finds nothing left to do.
 */
export async function apply(ctx: StageContext, client: Client, opts: ApplyOptions): Promise<ApplyResult> {
  const first = await readPlan(ctx, client);
  if (first.plan.blocked) throw blockedError(first.plan);
  if (!first.plan.operations.length) return noop(first.plan);
  if (opts.confirm && !(await opts.confirm(first.plan))) throw new UsageError('cancelled: nothing was changed');

  await acquireChangeLock(client, opts.lockWaitMs, (h) =>
    ctx.log.info(`waiting for another pgharden applying to this database${h ? ` (pid ${h.pid}, ${h.usename})` : ''}…`),
  );
  let runId: string | null = null;
  try {
    const pre = await preflight(ctx, client, { command: 'apply', runId: opts.runId, approvedBy: opts.approvedBy });
    runId = pre.runId;
    if (pre.blocked) throw blockedError(pre.plan);
    if (!pre.plan.operations.length) {
      await setRunStatus(client, runId, 'noop', { plan: planData(pre.plan) });
      return noop(pre.plan, runId, pre.runDir);
    }
    const runDir = new RunDir(runId, ctx.runsRoot);
    const backup = captureBackup(pre.state, pre.plan, runId);
    const backupFile = await writeBackup(client, runDir, backup);
    await recordStep(client, runId, 'backup', 'done', { file: backupFile });
    await setRunStatus(client, runId, 'applying', { plan: planData(pre.plan) });
    ctx.log.info(`backup of prior values committed (run ${runId}); applying ${pre.plan.operations.length} change(s)…`);

    const db = pre.state.database.name;
    const steps = await executeStatements(
      client, runId, runDir,
      pre.plan.operations.map((op) => ({ step: `${op.kind} ${op.name}`, sql: op.forwardSql(db) })),
      {
        lockTimeoutMs: opts.lockTimeoutMs, retries: opts.retries,
        onRetry: (step, attempt, wait) => ctx.log.warn(`${step}: lock timeout, retry ${attempt} in ${wait}ms`),
      },
    );
    await setRunStatus(client, runId, 'applied');
    await ensureMonitoringView(client, runId, ctx.log);
    return { ok: true, status: 'applied', runId, runDir: runDir.dir, backupFile, plan: planData(pre.plan), steps };
  } catch (err) {
    if (runId) await setRunStatus(client, runId, 'failed').catch(() => undefined);
    throw err;
  } finally {
    await releaseChangeLock(client);
  }
}
