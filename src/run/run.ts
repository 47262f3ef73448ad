import { checkWindow, type WindowDecision } from '../estate/window-gate.js';
import { checkPromotion, proofText, type PromotionProof } from '../estate/promotion.js';
import { approvalText, recordRunApproval, requireApproval } from '../estate/approval.js';
import { operationLabel } from '../plan/operations.js';
import { recycleText } from '../estate/poolers.js';
import { checkLoad, loadText, type LoadDecision } from '../estate/load-gate.js';
import { apply, type ApplyResult } from '../apply/apply.js';
import type { Backup } from '../apply/backup.js';
import { acquireChangeLock, releaseChangeLock } from '../apply/lock.js';
import { rehearseRollback, type Rehearsal } from '../apply/rehearse.js';
import { rollback, threeWay, type RollbackResult } from '../apply/rollback.js';
import { BlockedError, PghardenError, UsageError } from '../errors.js';
import { readDatabaseState } from '../pg/catalog.js';
import { connect } from '../pg/client.js';
import { runChecks } from '../guard/checks.js';
import { checkLogFile } from '../guard/log-scan.js';
import { guard, guardBaseline, type GuardResult } from '../guard/guard.js';
import type { LoadSample } from '../guard/triggers.js';
import type { Client } from '../pg/client.js';
import { formatDuration } from '../policy/duration.js';
import { preflight } from '../preflight/preflight.js';
import type { Baseline } from '../preflight/baseline.js';
import { probeLatency, type LatencySample } from '../preflight/latency.js';
import type { StageContext } from '../stage.js';
import { RunDir } from '../state/run-dir.js';
import { getRun, loadBackup, loadRunResult, recordStep, RunStateConflict, saveRunResult, setRunStatus } from '../state/store.js';
import { faultPoint } from './fault.js';
import type { EventStream } from '../events/stream.js';
import { describeState, nextCommand, RESUMABLE, type RunState } from './state.js';
import { verify, type VerifyResult } from '../verify/verify.js';
import type { StageRecord } from './stage-record.js';
import { raiseSyntheticAlert, type SyntheticAlert } from './synthetic-alert.js';

/**
 * How a run ended. Once the first change committed, only these are possible: passed, rolled_back
 * (restore verified exact), or a journaled state a person finishes with the command `next` names
 * (interrupted, triggered with --no-auto-rollback, needs_attention).
 */
export type RunOutcome = 'passed' | 'rolled_back' | 'triggered' | 'interrupted' | 'blocked' | 'needs_attention';

/** Everything a run measured: saved after every stage (resume) and rendered by `report`. */
export interface RunRecord {
  runId: string;
  database: string;
  policySource: string;
  policy: StageContext['policy'];
  approvedBy: string | null;
  /** The --env environment the run targeted. */
  environment?: string;
  /** For --env with requires: the passed run in each required environment that allowed this one. */
  promotion?: PromotionProof[];
  /** The maintenance window decision (inside, or outside with the --outside-window reason). */
  window?: WindowDecision;
  /** The low-traffic gate (max_load:): what was measured before the change, and any --over-load reason. */
  load?: LoadDecision;
  /** The database login that applied (four eyes: never the approving one where approval is required). */
  appliedBy?: string;
  startedAt: string;
  finishedAt: string | null;
  outcome: RunOutcome | null;
  stages: StageRecord[];
  baseline: Baseline | null;
  baselineLoad: LoadSample | null;
  rehearsal: Rehearsal | null;
  apply: Pick<ApplyResult, 'status' | 'steps' | 'plan' | 'backupFile' | 'poolers'> | null;
  verify: VerifyResult | null;
  guard: GuardResult | null;
  rollback: RollbackResult | null;
  /** Verify after an automatic rollback: the policy should no longer be in force. */
  afterRollback: VerifyResult | null;
  /** The baseline's latency probe again, after the window. */
  afterLatency: LatencySample | null;
  /** Monitoring proven end to end: a synthetic alert fired and resolved. */
  syntheticAlert: SyntheticAlert | null;
  /** Why the run rolled back or stopped when no trigger did it: an error (ours, the server's, a lost connection). */
  error?: string | null;
  /** The run's state in the journal when the record was last saved. */
  state?: RunState | null;
  /** What a person must run to finish the run (interrupted, needs_attention, triggered). */
  next?: string | null;
}

export interface RunOptions {
  approvedBy?: string;
  /** --outside-window "reason". */
  outsideWindow?: string;
  /** --over-load "reason": go ahead although the load is over max_load:. */
  overLoad?: string;
  windowMs?: number;
  intervalMs?: number;
  autoRollback: boolean;
  rehearse: boolean;
  /** Draws one load sample of `durationMs` (baseline, then back to back in the window). */
  load?: (durationMs: number) => Promise<LoadSample>;
  loadSampleMs?: number;
  /** Functional probes after apply: the timeouts really bite on fresh sessions. */
  probes?: boolean;
  logFile?: string;
  lockWaitMs: number;
  resume?: string;
  /** The id a new run takes (a fleet records it in its control database before the run starts). */
  runId?: string;
  /** Prove the alert path with a synthetic long query (about 1.2 s); default on. */
  syntheticAlert?: boolean;
  signal?: AbortSignal;
  json: boolean;
}

const FILE = 'run.json';

/**
 * Continue a run: only one whose journaled state allows it, and only if the database still holds
 * what the run set (a run rolled back since, or changed by hand, is not "resumed" into a pass).
 */
async function resumeRecord(ctx: StageContext, client: Client, runId: string): Promise<RunRecord> {
  const run = await getRun(client, runId);
  // The run directory, else the record saved with the run: a fleet worker on another machine resumes it.
  const record =
    (await new RunDir(runId, ctx.runsRoot).read<RunRecord>(FILE)) ?? (run ? await loadRunResult<RunRecord>(client, runId) : null);
  if (!run || run.command !== 'run') throw new UsageError(`no run ${runId} here to resume (see \`pgharden status\`)`);
  if (!RESUMABLE.includes(run.status)) {
    throw new UsageError(
      `run ${runId} cannot be resumed: it is ${run.status} (${describeState(run.status)})${nextCommand(run) ? `; next: ${nextCommand(run)}` : ''}`,
    );
  }
  if (!record)
    throw new UsageError(
      `run ${runId} has no record in ${new RunDir(runId, ctx.runsRoot).dir} (resume from the directory it was started in)`,
    );
  const backup = await loadBackup<Backup>(client, runId);
  if (backup && run.status !== 'applying' && run.status !== 'needs_attention') {
    const drift = threeWay(backup, await readDatabaseState(client, backup.database)).filter((v) => v.now !== v.applied);
    if (drift.length) {
      throw new UsageError(
        `run ${runId} cannot be resumed: the database no longer holds what it set (${drift.map((v) => `${operationLabel(v)} is ${v.now ?? '(not set)'}, the run set ${v.applied ?? '(not set)'}`).join('; ')}). ` +
          `Roll it back with: pgharden rollback --run ${runId}`,
      );
    }
  }
  return { ...record, outcome: null, error: null };
}

/**
 * The whole runbook: preflight + baseline → (rehearsal) → backup + apply → verify (+ probes)
 * → guard window → automatic rollback on a trigger. Each stage is journaled and the record
 * saved, so an interrupted run can be resumed where it stopped.
 */
export async function runRunbook(outer: StageContext, client: Client, opts: RunOptions): Promise<RunRecord> {
  const events = outer.events;
  // The checklist (an event consumer) reports each stage; the stages' own progress lines would only interleave with it.
  const ctx: StageContext = { ...outer, log: { info: () => undefined, warn: outer.log.warn } };
  let record: RunRecord;
  if (opts.resume) {
    record = await resumeRecord(ctx, client, opts.resume);
    outer.log.info(
      `resuming run ${record.runId} after: ${
        record.stages
          .filter((s) => s.ok)
          .map((s) => s.stage)
          .join(', ') || 'nothing'
      }`,
    );
    events?.emit({ type: 'run.started', command: 'run', database: ctx.target.database, policySource: ctx.policy.source, resumed: true });
    events?.setRunId(record.runId);
  } else {
    events?.emit({ type: 'run.started', command: 'run', database: ctx.target.database, policySource: ctx.policy.source });
    record = {
      runId: '',
      database: ctx.target.database,
      policySource: ctx.policy.source,
      policy: ctx.policy,
      approvedBy: opts.approvedBy ?? null,
      ...(ctx.environment ? { environment: ctx.environment.name } : {}),
      startedAt: new Date().toISOString(),
      finishedAt: null,
      outcome: null,
      stages: [],
      baseline: null,
      baselineLoad: null,
      rehearsal: null,
      apply: null,
      verify: null,
      guard: null,
      rollback: null,
      afterRollback: null,
      afterLatency: null,
      syntheticAlert: null,
    };
  }
  // Every input is checked before the first change: a typo must not surface half-way through the window.
  if (opts.logFile) {
    await checkLogFile(opts.logFile).catch((err) => {
      throw new UsageError(
        `--log ${opts.logFile}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); nothing was changed`,
      );
    });
  }
  const doneStages = new Set(record.stages.filter((s) => s.ok).map((s) => s.stage));
  const save = async (over: Client = client) => {
    await new RunDir(record.runId, ctx.runsRoot).write(FILE, record);
    await saveRunResult(over, record.runId, record);
  };

  /** Run one stage unless a resumed run already did it; journal it, time it, save the record. */
  const stage = async (name: string, what: string, body: () => Promise<Omit<StageRecord, 'stage' | 'ms'>>) => {
    if (doneStages.has(name)) return;
    if (opts.signal?.aborted) throw new Interrupted();
    await ensureSession();
    events?.emit({ type: 'stage.started', stage: name, what });
    const t = performance.now();
    if (record.runId) {
      await recordStep(client, record.runId, `stage ${name}`, 'started');
      faultPoint(`stage ${name} started`);
    }
    const result = await body();
    const entry = { stage: name, ms: performance.now() - t, ...result };
    record.stages = [...record.stages.filter((s) => s.stage !== name), entry];
    events?.emit({ type: 'stage.finished', ...entry, ms: Math.round(entry.ms) });
    await recordStep(client, record.runId, `stage ${name}`, result.ok ? 'done' : 'failed', entry);
    await save();
    faultPoint(`stage ${name} ${result.ok ? 'done' : 'failed'}`);
  };
  /** Move the run's journaled state; a conflict means someone else moved it (e.g. rolled it back). */
  const setState = async (to: RunState) => {
    if (record.apply?.status === 'noop') return; // a run that changed nothing has no state to move
    await setRunStatus(client, record.runId, to);
    record.state = to;
  };
  let lockHeld = false;
  const replaced: Client[] = [];
  /**
   * The run's own session may die under it (a server restart, pg_terminate_backend): open a new
   * one with backoff and take the change lock again (it died with the old session), so the run
   * goes on instead of taking a decision on the fault.
   */
  const ensureSession = async () => {
    if (
      await client.query('SELECT 1').then(
        () => true,
        () => false,
      )
    )
      return;
    outer.log.warn('the run lost its database session; reconnecting…');
    client = await connectWithBackoff(ctx);
    replaced.push(client);
    if (lockHeld) await acquireChangeLock(client, opts.lockWaitMs);
  };

  try {
    await stage('preflight', 'findings and baseline', async () => {
      const pre = await preflight(ctx, client, { command: 'run', approvedBy: opts.approvedBy, runId: opts.runId });
      record.runId = pre.runId;
      events?.setRunId(pre.runId);
      record.baseline = pre.baseline;
      // A business check that already fails would fire the `checks` trigger on a change that did no harm.
      const failingChecks = await runChecks(ctx.target, ctx.policy.rollback_triggers.checks);
      // Four eyes before anything changes: the approval must be of this exact plan (estate/approval.ts).
      let unapproved: string | null = null;
      // The maintenance window first: outside it nothing else matters (estate/window-gate.ts).
      if (!pre.blocked) {
        try {
          record.window = checkWindow(outer, opts.outsideWindow) ?? undefined;
          if (record.window) await recordStep(client, pre.runId, 'window', record.window.inside ? 'done' : 'overridden', record.window);
        } catch (err) {
          if (!(err instanceof BlockedError)) throw err;
          unapproved = err.message;
        }
      }
      // Staging before production (estate/promotion.ts): read from each required environment's own pgharden schema.
      if (!unapproved && !pre.blocked && ctx.environment?.requires.length) {
        try {
          record.promotion = await checkPromotion(ctx.policy, ctx.environment.requires, ctx.environment.name);
          outer.log.info(`promotion: ${record.promotion.map(proofText).join('; ')}`);
        } catch (err) {
          if (!(err instanceof BlockedError)) throw err;
          unapproved = err.message;
        }
      }
      if (!unapproved && !pre.blocked && ctx.environment?.approval === 'required' && pre.plan.operations.length) {
        try {
          const approval = await requireApproval(client, ctx.policy, pre.state, pre.plan);
          record.approvedBy = approvalText(approval);
          await recordRunApproval(client, pre.runId, record.approvedBy);
        } catch (err) {
          if (!(err instanceof BlockedError)) throw err;
          unapproved = err.message;
        }
      }
      // Last, as it takes a sample of the traffic: the runbook's low-traffic period (estate/load-gate.ts).
      if (!unapproved && !pre.blocked && pre.plan.operations.length) {
        try {
          record.load = (await checkLoad(ctx, client, opts.overLoad)) ?? undefined;
          if (record.load) await recordStep(client, pre.runId, 'load', record.load.ok ? 'done' : 'overridden', record.load);
        } catch (err) {
          if (!(err instanceof BlockedError)) throw err;
          unapproved = err.message;
          await recordStep(client, pre.runId, 'load', 'failed', (err.details as { load?: unknown })?.load ?? null);
        }
      }
      record.appliedBy = pre.state.me.user;
      if (pre.blocked || failingChecks.length || unapproved) {
        record.outcome = 'blocked';
        await setRunStatus(client, pre.runId, 'blocked');
        const why = [
          ...pre.findings.filter((f) => f.severity === 'blocking').map((f) => f.message),
          ...failingChecks.map((c) => `check ${c.name} already fails before any change: ${c.error}`),
          ...(unapproved ? [unapproved] : []),
        ];
        return { ok: false, summary: `blocked: ${why.join(' ')}` };
      }
      const advisories = pre.findings.filter((f) => f.severity === 'advisory').length;
      const gates = [
        ...(record.load
          ? [`load ${loadText(record.load)}${record.load.override ? ` — OVER max_load, going ahead: ${record.load.override}` : ''}`]
          : []),
        ...(record.promotion?.length ? [`promoted after ${record.promotion.map(proofText).join('; ')}`] : []),
        ...(record.approvedBy && ctx.environment?.approval === 'required' ? [`approved by ${record.approvedBy}`] : []),
      ];
      return {
        ok: true,
        summary: `${pre.plan.operations.length} change(s) planned, ${advisories} advisory finding(s); latency probe p95 ${pre.baseline.latency.p95Ms}ms${gates.map((g) => `; ${g}`).join('')}`,
      };
    });
    if (record.outcome === 'blocked') return await finish(record, save, client, events);

    if (opts.load) {
      await stage('load', 'baseline load sample', async () => {
        record.baselineLoad = await opts.load!(opts.loadSampleMs ?? 5000);
        return { ok: true, summary: loadSummary(record.baselineLoad) };
      });
    }
    if (opts.rehearse) {
      await stage('rehearsal', 'apply and roll back on a scratch database', async () => {
        record.rehearsal = await rehearseRollback(ctx, client);
        const r = record.rehearsal;
        return {
          ok: r.ok,
          skipped: Boolean(r.skipped),
          summary:
            r.skipped ??
            (r.ok
              ? `${r.applied} change(s) applied and rolled back on ${r.scratchDatabase}: exact restore`
              : `restore differed: ${r.check?.differences.join('; ')}`),
        };
      });
      if (record.rehearsal && !record.rehearsal.ok && !record.rehearsal.skipped) {
        record.outcome = 'blocked';
        await setRunStatus(client, record.runId, 'blocked');
        return await finish(record, save, client, events);
      }
    }
    await stage('apply', 'backup, then the changes', async () => {
      // The change lock stays held until the end of the guard window: nothing else changes the database meanwhile.
      const applied = await apply(ctx, client, {
        lockWaitMs: opts.lockWaitMs,
        runId: record.runId,
        approvedBy: record.approvedBy ?? undefined,
        keepLock: true,
      });
      lockHeld = true;
      record.apply = {
        status: applied.status,
        steps: applied.steps,
        plan: applied.plan,
        backupFile: applied.backupFile,
        ...(applied.poolers ? { poolers: applied.poolers } : {}),
      };
      const poolers = applied.poolers?.length ? `; ${applied.poolers.map(recycleText).join('; ')}` : '';
      return {
        ok: true,
        summary:
          (applied.status === 'noop'
            ? 'already in the target state: nothing changed'
            : `${applied.steps.length} change(s) applied; backup ${applied.backupFile}`) + poolers,
      };
    });
    if (!lockHeld && record.apply?.status === 'applied') {
      // A resumed run: take the change lock again for the rest of the run.
      await acquireChangeLock(client, opts.lockWaitMs, () => outer.log.info('waiting for another pgharden changing this database…'));
      lockHeld = true;
    }
    await ensureSession();
    if (!doneStages.has('verify')) await setState('verifying');
    await stage('verify', 'fresh sessions, every login role' + (opts.probes ? ', functional probes' : ''), async () => {
      const onProgress = (p: { running: string[]; remainingMs: number }) =>
        events?.emit({ type: 'probe.progress', stage: 'verify', running: p.running, remainingMs: p.remainingMs });
      record.verify = await verify(ctx, client, { probes: opts.probes ? { onProgress } : undefined });
      const failed = [...record.verify.checks, ...(record.verify.probes ?? [])].filter(
        (c) => !c.ok && (c as { status?: string }).status !== 'skipped',
      );
      const probes = record.verify.probes ?? [];
      const probeNote = probes.length
        ? `; probes: ${probes.map((p) => `${p.probe} ${p.status}${p.measuredMs !== undefined ? ` in ${formatDuration(p.measuredMs)}` : ''}`).join(', ')}`
        : '';
      return {
        ok: record.verify.ok,
        summary:
          (failed.length
            ? `${failed.length} check(s) failed: ${failed.map((c) => c.message).join('; ')}`
            : `${record.verify.checks.length} checks passed`) + probeNote,
      };
    });
    if (opts.syntheticAlert !== false) {
      await stage('alerting', 'a synthetic alert must fire and resolve', async () => {
        record.syntheticAlert = await raiseSyntheticAlert(ctx, client);
        return { ok: record.syntheticAlert.ok, summary: record.syntheticAlert.message };
      });
    }
    const verifyFailed = record.verify && !record.stages.find((s) => s.stage === 'verify')?.ok;

    if (!verifyFailed) {
      await ensureSession();
      await setState('guarding');
      const windowMs = opts.windowMs ?? ctx.policy.guard_window;
      await stage('guard', `watching for ${formatDuration(windowMs)}`, async () => {
        const base = guardBaseline(record.baseline!, record.baselineLoad);
        record.guard = await guard(ctx, client, {
          windowMs,
          intervalMs: opts.intervalMs,
          baseline: base,
          load: opts.load,
          loadSampleMs: opts.loadSampleMs,
          logFile: opts.logFile,
          signal: opts.signal,
        });
        const g = record.guard;
        if (g.interrupted) throw new Interrupted();
        if (g.lostConnection)
          throw new PghardenError('lost the connection to the server during the guard window and could not get it back', 3);
        await ensureSession();
        record.afterLatency = await probeLatency(client, ctx.latencyProbeRuns);
        // A trigger that could not be measured is said so, never shown as a pass.
        const unmeasured = g.notMeasured.length
          ? `; NOT MEASURED: ${g.notMeasured.join(', ')} (add --load, or require_measured to fail on it)`
          : '';
        return {
          ok: g.passed,
          summary:
            (g.passed
              ? `no trigger fired in ${formatDuration(g.observedMs)}`
              : `TRIGGER ${g.fired.map((t) => `${t.trigger}: ${t.summary}`).join('; ')}`) + unmeasured,
        };
      });
    }

    const triggered = verifyFailed || (record.guard && !record.guard.passed);
    const changedNothing = record.apply?.status === 'noop';
    if (triggered && changedNothing) {
      record.outcome = 'triggered';
      record.error = 'a trigger fired, but this run changed nothing (the database was already in the target state): nothing to roll back';
    } else if (triggered && opts.autoRollback) {
      await rollBackRun(ctx, client, record, opts, lockHeld, save, stage);
    } else if (triggered) {
      await setState('triggered');
      record.outcome = 'triggered';
    } else {
      await ensureSession();
      await setState('passed');
      record.outcome = 'passed';
    }
    return await finish(record, save, client, events);
  } catch (err) {
    if (err instanceof Interrupted) {
      record.outcome = 'interrupted';
      await recordStep(client, record.runId, 'interrupted', 'done').catch(() => undefined);
      return await finish(record, save, client, events).catch(() => record);
    }
    if (err instanceof RunStateConflict) {
      // Someone else moved the run on (a rollback by another operator): report what is true now.
      record.state = err.actual;
      record.outcome = err.actual === 'rolled_back' ? 'rolled_back' : 'needs_attention';
      record.error = `${err.message}: another pgharden changed this run's state while it ran`;
      return await finish(record, save, client, events).catch(() => record);
    }
    if (
      (err as PghardenError).details &&
      typeof (err as PghardenError).details === 'object' &&
      'rolledBack' in ((err as PghardenError).details as object)
    ) {
      // apply failed part-way and undid its own changes: a rolled-back run, with the cause.
      record.outcome = 'rolled_back';
      record.error = (err as Error).message;
      return await finish(record, save, client, events).catch(() => record);
    }
    // An error after the first change: never leave the changes in place without a decision.
    if (!record.runId || !changesMayBeInPlace(record)) throw err;
    record.error = `${(err as Error).message}`;
    if (opts.autoRollback) await rollBackRun(ctx, client, record, opts, lockHeld, save, stage).catch(() => undefined);
    if (record.outcome !== 'rolled_back') record.outcome = 'needs_attention';
    return await finish(record, save, client, events).catch(() => record);
  } finally {
    if (lockHeld) await releaseChangeLock(client);
    for (const c of replaced) await c.end().catch(() => undefined);
  }
}

const changesMayBeInPlace = (r: RunRecord) =>
  r.apply?.status === 'applied' || r.stages.some((s) => s.stage === 'apply') || r.state === 'applying';

/**
 * Roll the run back and prove it. Over the run's session when it still answers, else over a fresh
 * one (the change lock is taken again there). A rollback that cannot run leaves `needs_attention`.
 */
async function rollBackRun(
  ctx: StageContext,
  client: Client,
  record: RunRecord,
  opts: RunOptions,
  lockHeld: boolean,
  save: (c?: Client) => Promise<void>,
  stage: (name: string, what: string, body: () => Promise<Omit<StageRecord, 'stage' | 'ms'>>) => Promise<void>,
): Promise<void> {
  const alive = await client.query('SELECT 1').then(
    () => true,
    () => false,
  );
  const session = alive ? client : await connectWithBackoff(ctx);
  try {
    const body = async () => {
      record.rollback = await rollback(ctx, session, { runId: record.runId, lockWaitMs: opts.lockWaitMs, lockHeld: alive && lockHeld });
      record.afterRollback = await verify(ctx, session);
      return { ok: record.rollback.ok, summary: record.rollback.message };
    };
    if (alive) await stage('rollback', 'restoring the captured values', body);
    else await body();
    record.outcome = 'rolled_back';
    record.state = 'rolled_back';
  } catch (err) {
    record.error = [record.error, `rollback: ${(err as Error).message}`].filter(Boolean).join('; ');
    record.outcome = 'needs_attention';
    throw err;
  } finally {
    if (!alive) {
      await save(session).catch(() => undefined);
      await session.end().catch(() => undefined);
    }
  }
}

/** A fresh session for the rollback after ours was lost: a few tries with backoff, about 30 s in all. */
async function connectWithBackoff(ctx: StageContext): Promise<Client> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 6; attempt++) {
    try {
      return await connect(ctx.target, { appName: 'pgharden run rollback' });
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
    }
  }
  throw lastError;
}

class Interrupted extends Error {}

/** Record the journaled state and the command that finishes the run, then save. */
async function finish(record: RunRecord, save: (c?: Client) => Promise<void>, client?: Client, events?: EventStream): Promise<RunRecord> {
  record.finishedAt = new Date().toISOString();
  if (client && record.runId) record.state = (await getRun(client, record.runId).catch(() => null))?.status ?? record.state ?? null;
  record.next = record.state && record.runId ? nextCommand({ id: record.runId, command: 'run', status: record.state }) : null;
  events?.emit({
    type: 'run.outcome',
    outcome: record.outcome ?? 'interrupted',
    state: record.state ?? null,
    error: record.error ?? null,
    next: record.next,
  });
  if (record.runId) await save();
  return record;
}

export function loadSummary(l: LoadSample): string {
  const errors =
    Object.entries(l.errors)
      .map(([k, v]) => `${k}×${v}`)
      .join(', ') || 'no errors';
  return `${l.transactions} transactions, p95 ${l.latency.p95Ms.toFixed(2)}ms, ${errors}`;
}
