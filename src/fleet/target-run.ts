import { rollback } from '../apply/rollback.js';
import { BlockedError } from '../errors.js';
import type { Log } from '../log.js';
import { connect, type Client } from '../pg/client.js';
import { redact } from '../pg/redact.js';
import type { Policy } from '../policy/schema.js';
import { writeReports } from '../report/write.js';
import { runRunbook, type RunRecord } from '../run/run.js';
import { RESUMABLE, type RunState } from '../run/state.js';
import type { StageContext } from '../stage.js';
import { newRunId } from '../state/run-dir.js';
import { loadRunResult } from '../state/store.js';
import type { ClaimedTarget, TargetResult } from './store.js';
import { targetOf } from './targets.js';

/** How each target's run is done: the same runbook as `pgharden run`, with the inventory's choices. */
export interface TargetRunSettings {
  policy: Policy;
  probes: boolean;
  /** The guard window of each target (ms). */
  windowMs: number;
  lockWaitMs: number;
  approvedBy?: string;
  runsRoot?: string;
  log: Log;
}

export type TargetRunResult = Omit<TargetResult, 'ms'> | { state: 'interrupted'; runId: string | null } | { state: 'lost'; runId: null };

/**
 * One claimed target, applied at most once. A target claimed before (its worker died or was
 * interrupted) has a run id on record: the target's own journal (its pgharden schema) says what
 * that run did, and this claim records it, finishes it (resume, rollback), or, when the run made
 * no change, starts a new one. The run id is recorded in the control database before a new run
 * starts, so a worker that dies after applying and before reporting leaves the way to its journal.
 */
export async function runTarget(
  claim: ClaimedTarget,
  settings: TargetRunSettings,
  hooks: { recordRunId(runId: string): Promise<boolean>; signal: AbortSignal },
): Promise<TargetRunResult> {
  const target = targetOf(claim);
  const ctx: StageContext = {
    target,
    policy: settings.policy,
    runsRoot: settings.runsRoot,
    log: { info: () => undefined, warn: (m) => settings.log.warn(`${target.display}: ${m}`) },
    environment: claim.env ? environmentOf(settings.policy, claim.env) : undefined,
    // 200 round trips three times per target were a quarter of a worker's CPU (one write syscall
    // each); 20 still show a latency jump, and the guard's triggers do not use this probe.
    latencyProbeRuns: 20,
  };
  let client: Client;
  try {
    client = await connect(target, { appName: 'pgharden fleet', onError: () => undefined });
  } catch (err) {
    return { state: 'failed', outcome: null, error: message(err), runId: claim.runId };
  }
  let current = claim.runId;
  try {
    let resume: string | undefined;
    if (claim.runId) {
      const earlier = await journaled(client, claim.runId);
      if (earlier === 'passed' || earlier === 'noop' || earlier === 'rolled_back' || earlier === 'blocked') {
        // The run ended; only its report to the control database was lost.
        const record = await loadRunResult<RunRecord>(client, claim.runId);
        return fromRecord(record, claim.runId, earlier);
      }
      if (earlier === 'rolling_back' || earlier === 'triggered') {
        const r = await rollback(ctx, client, { runId: claim.runId, lockWaitMs: settings.lockWaitMs });
        return {
          state: r.ok ? 'rolled_back' : 'needs_attention',
          outcome: 'rolled_back',
          error: `an earlier worker's run stopped while ${earlier === 'triggered' ? 'a trigger had fired' : 'rolling back'}; ${r.message}`,
          runId: claim.runId,
        };
      }
      if (earlier && earlier !== 'preflight' && earlier !== 'failed' && RESUMABLE.includes(earlier)) resume = claim.runId;
      // No row, preflight or failed: the earlier run changed nothing, so a new run starts.
    }
    const runId = resume ?? newRunId();
    if (!resume && !(await hooks.recordRunId(runId))) return { state: 'lost', runId: null };
    current = runId;
    const record = await runRunbook(ctx, client, {
      runId: resume ? undefined : runId,
      resume,
      approvedBy: settings.approvedBy,
      windowMs: settings.windowMs,
      intervalMs: Math.min(1000, Math.max(100, Math.round(settings.windowMs / 5))),
      autoRollback: true,
      rehearse: false,
      probes: settings.probes,
      syntheticAlert: settings.probes,
      lockWaitMs: settings.lockWaitMs,
      signal: hooks.signal,
      json: true,
    });
    if (record.outcome === 'interrupted') return { state: 'interrupted', runId };
    // A failed target's report (what fired, before/after, the restore) is what a person opens
    // first; a passed one's stays available with `pgharden report --run ID`, unwritten at fleet scale.
    if (record.outcome !== 'passed' && record.runId) await writeReports(record, settings.runsRoot).catch(() => null);
    return fromRecord(record, record.runId || runId, null);
  } catch (err) {
    if (hooks.signal.aborted) return { state: 'interrupted', runId: current };
    if (err instanceof BlockedError) return { state: 'blocked', outcome: 'blocked', error: message(err), runId: current };
    return { state: 'failed', outcome: null, error: message(err), runId: current };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The state of a run in the target's own journal; null when the schema or the run is not there. */
async function journaled(client: Client, runId: string): Promise<RunState | 'noop' | null> {
  const { rows } = await client.query(`SELECT to_regclass('pgharden.runs') IS NOT NULL AS present`);
  if (!rows[0].present) return null;
  const run = await client.query(`SELECT status FROM pgharden.runs WHERE id = $1`, [runId]);
  return run.rows[0]?.status ?? null;
}

/** A run's outcome as a target state, with the reason a person needs for a failure. */
function fromRecord(record: RunRecord | null, runId: string, journal: string | null): Omit<TargetResult, 'ms'> {
  const outcome = record?.outcome ?? journal;
  switch (outcome) {
    case 'passed':
    case 'noop':
      return { state: 'passed', outcome: record?.apply?.status === 'noop' || outcome === 'noop' ? 'noop' : 'passed', error: null, runId };
    case 'rolled_back':
      return { state: 'rolled_back', outcome: 'rolled_back', error: record ? reason(record) : 'rolled back (see its report)', runId };
    case 'blocked':
      return { state: 'blocked', outcome: 'blocked', error: record ? reason(record) : 'blocked by preflight', runId };
    default:
      return {
        state: 'needs_attention',
        outcome: outcome ?? null,
        error: [record?.error ?? `the run ended ${outcome ?? 'without an outcome'}`, record?.next ? `next: ${record.next}` : null]
          .filter(Boolean)
          .join('; '),
        runId,
      };
  }
}

/** Which trigger fired, or the error, or the stage that failed: one line. */
function reason(r: RunRecord): string {
  const fired = r.guard?.fired ?? [];
  if (fired.length) return fired.map((t) => `${t.trigger}: ${t.summary}`).join('; ');
  const failed = r.stages.filter((s) => !s.ok && !s.skipped && s.stage !== 'rollback').map((s) => `${s.stage}: ${s.summary}`);
  return [r.error, ...failed].filter(Boolean).join('; ') || 'see the run report';
}

function environmentOf(policy: Policy, name: string): StageContext['environment'] {
  const env = policy.environments[name];
  return env ? { name, approval: env.approval, requires: env.requires, window: env.window } : undefined;
}

const message = (err: unknown) => redact((err as Error)?.message ?? String(err));
