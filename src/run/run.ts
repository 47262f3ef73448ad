import { apply, type ApplyResult } from '../apply/apply.js';
import { rehearseRollback, type Rehearsal } from '../apply/rehearse.js';
import { rollback, type RollbackResult } from '../apply/rollback.js';
import { UsageError } from '../errors.js';
import { guard, guardBaseline, type GuardResult } from '../guard/guard.js';
import type { LoadSample } from '../guard/triggers.js';
import type { Client } from '../pg/client.js';
import { formatDuration } from '../policy/duration.js';
import { preflight } from '../preflight/preflight.js';
import type { Baseline } from '../preflight/baseline.js';
import { probeLatency, type LatencySample } from '../preflight/latency.js';
import type { StageContext } from '../stage.js';
import { RunDir } from '../state/run-dir.js';
import { getRun, recordStep, saveRunResult, setRunStatus } from '../state/store.js';
import { verify, type VerifyResult } from '../verify/verify.js';
import { Checklist, type StageRecord } from './checklist.js';
import { raiseSyntheticAlert, type SyntheticAlert } from './synthetic-alert.js';

export type RunOutcome = 'passed' | 'rolled_back' | 'triggered' | 'interrupted' | 'blocked';

/** Everything a run measured: saved after every stage (resume) and rendered by `report`. */
export interface RunRecord {
  runId: string;
  database: string;
  policySource: string;
  policy: StageContext['policy'];
  approvedBy: string | null;
  startedAt: string;
  finishedAt: string | null;
  outcome: RunOutcome | null;
  stages: StageRecord[];
  baseline: Baseline | null;
  baselineLoad: LoadSample | null;
  rehearsal: Rehearsal | null;
  apply: Pick<ApplyResult, 'status' | 'steps' | 'plan' | 'backupFile'> | null;
  verify: VerifyResult | null;
  guard: GuardResult | null;
  rollback: RollbackResult | null;
  /** Verify after an automatic rollback: the policy should no longer be in force. */
  afterRollback: VerifyResult | null;
  /** The baseline's latency probe again, after the window. */
  afterLatency: LatencySample | null;
  /** Monitoring proven end to end: a synthetic alert fired and resolved. */
  syntheticAlert: SyntheticAlert | null;
}

export interface RunOptions {
  approvedBy?: string;
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
  signal?: AbortSignal;
  json: boolean;
}

const FILE = 'run.json';

/** Continue a run: its record from the run directory, checked against the journal in the database. */
async function resumeRecord(ctx: StageContext, client: Client, runId: string): Promise<RunRecord> {
  const run = await getRun(client, runId);
  const record = await new RunDir(runId, ctx.runsRoot).read<RunRecord>(FILE);
  if (!run || !record || run.command !== 'run') throw new UsageError(`no resumable run ${runId} here (see \`pgharden status\`)`);
  if (record.outcome && record.outcome !== 'interrupted') throw new UsageError(`run ${runId} already finished: ${record.outcome}`);
  return { ...record, outcome: null };
}

/**
 * The whole runbook: preflight + baseline → (rehearsal) → backup + apply → verify (+ probes)
 * → guard window → automatic rollback on a trigger. Each stage is journaled and the record
 * saved, so an interrupted run can be resumed where it stopped.
 */
export async function runRunbook(outer: StageContext, client: Client, opts: RunOptions): Promise<RunRecord> {
  const checklist = new Checklist(outer.log, opts.json);
  // The checklist reports each stage; the stages' own progress lines would only interleave with it.
  const ctx: StageContext = { ...outer, log: { info: () => undefined, warn: outer.log.warn } };
  let record: RunRecord;
  if (opts.resume) {
    record = await resumeRecord(ctx, client, opts.resume);
    outer.log.info(`resuming run ${record.runId} after: ${record.stages.filter((s) => s.ok).map((s) => s.stage).join(', ') || 'nothing'}`);
  } else {
    record = {
      runId: '', database: ctx.target.database, policySource: ctx.policy.source, policy: ctx.policy, approvedBy: opts.approvedBy ?? null,
      startedAt: new Date().toISOString(), finishedAt: null, outcome: null, stages: [], baseline: null, baselineLoad: null,
      rehearsal: null, apply: null, verify: null, guard: null, rollback: null, afterRollback: null, afterLatency: null, syntheticAlert: null,
    };
  }
  const doneStages = new Set(record.stages.filter((s) => s.ok).map((s) => s.stage));
  const save = async () => {
    await new RunDir(record.runId, ctx.runsRoot).write(FILE, record);
    await saveRunResult(client, record.runId, record);
  };

  /** Run one stage unless a resumed run already did it; journal it, time it, save the record. */
  const stage = async (name: string, what: string, body: () => Promise<Omit<StageRecord, 'stage' | 'ms'>>) => {
    if (doneStages.has(name)) return;
    if (opts.signal?.aborted) throw new Interrupted();
    checklist.start(name, what);
    const t = performance.now();
    if (record.runId) await recordStep(client, record.runId, `stage ${name}`, 'started');
    const result = await body();
    const entry = { stage: name, ms: performance.now() - t, ...result };
    record.stages = [...record.stages.filter((s) => s.stage !== name), entry];
    checklist.done(entry);
    await recordStep(client, record.runId, `stage ${name}`, result.ok ? 'done' : 'failed', entry);
    await save();
  };

  try {
    await stage('preflight', 'findings and baseline', async () => {
      const pre = await preflight(ctx, client, { command: 'run', approvedBy: opts.approvedBy });
      record.runId = pre.runId;
      record.baseline = pre.baseline;
      if (pre.blocked) {
        record.outcome = 'blocked';
        return { ok: false, summary: `blocked: ${pre.findings.filter((f) => f.severity === 'blocking').map((f) => f.message).join(' ')}` };
      }
      const advisories = pre.findings.filter((f) => f.severity === 'advisory').length;
      return { ok: true, summary: `${pre.plan.operations.length} change(s) planned, ${advisories} advisory finding(s); latency probe p95 ${pre.baseline.latency.p95Ms}ms` };
    });
    if (record.outcome === 'blocked') return await finish(record, save);

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
          ok: r.ok, skipped: Boolean(r.skipped),
          summary: r.skipped ?? (r.ok ? `${r.applied} change(s) applied and rolled back on ${r.scratchDatabase}: exact restore` : `restore differed: ${r.check?.differences.join('; ')}`),
        };
      });
      if (record.rehearsal && !record.rehearsal.ok && !record.rehearsal.skipped) {
        record.outcome = 'blocked';
        return await finish(record, save);
      }
    }
    await stage('apply', 'backup, then the changes', async () => {
      const applied = await apply(ctx, client, { lockWaitMs: opts.lockWaitMs, runId: record.runId, approvedBy: opts.approvedBy });
      record.apply = { status: applied.status, steps: applied.steps, plan: applied.plan, backupFile: applied.backupFile };
      return { ok: true, summary: applied.status === 'noop' ? 'already in the target state: nothing changed' : `${applied.steps.length} change(s) applied; backup ${applied.backupFile}` };
    });
    await stage('verify', 'fresh sessions, every login role' + (opts.probes ? ', functional probes' : ''), async () => {
      const onProgress = (p: { running: string[]; remainingMs: number }) =>
        checklist.progress('verify', `${p.running.length} probe(s) waiting for the server, at most ${Math.ceil(p.remainingMs / 1000)}s left`);
      record.verify = await verify(ctx, client, { probes: opts.probes ? { onProgress } : undefined });
      const failed = [...record.verify.checks, ...(record.verify.probes ?? [])].filter((c) => !c.ok && (c as { status?: string }).status !== 'skipped');
      const probes = record.verify.probes ?? [];
      const probeNote = probes.length ? `; probes: ${probes.map((p) => `${p.probe} ${p.status}${p.measuredMs !== undefined ? ` in ${formatDuration(p.measuredMs)}` : ''}`).join(', ')}` : '';
      return {
        ok: record.verify.ok,
        summary: (failed.length ? `${failed.length} check(s) failed: ${failed.map((c) => c.message).join('; ')}` : `${record.verify.checks.length} checks passed`) + probeNote,
      };
    });
    await stage('alerting', 'a synthetic alert must fire and resolve', async () => {
      record.syntheticAlert = await raiseSyntheticAlert(ctx, client);
      return { ok: record.syntheticAlert.ok, summary: record.syntheticAlert.message };
    });
    const verifyFailed = record.verify && !record.stages.find((s) => s.stage === 'verify')?.ok;

    if (!verifyFailed) {
      await setRunStatus(client, record.runId, 'guarding');
      const windowMs = opts.windowMs ?? ctx.policy.guard_window;
      await stage('guard', `watching for ${formatDuration(windowMs)}`, async () => {
        const base = guardBaseline(record.baseline!, record.baselineLoad);
        record.guard = await guard(ctx, client, {
          windowMs, intervalMs: opts.intervalMs, baseline: base,
          load: opts.load, loadSampleMs: opts.loadSampleMs, logFile: opts.logFile, signal: opts.signal,
          onSample: (s) => checklist.progress('guard', `${formatDuration(s.elapsedMs)} of ${formatDuration(windowMs)}, ${s.connections}/${s.connectionLimit} connections`),
        });
        const g = record.guard;
        if (g.interrupted) throw new Interrupted();
        record.afterLatency = await probeLatency(client);
        return { ok: g.passed, summary: g.passed ? `no trigger fired in ${formatDuration(g.observedMs)}` : `TRIGGER ${g.fired.map((t) => `${t.trigger}: ${t.summary}`).join('; ')}` };
      });
    }

    const triggered = verifyFailed || (record.guard && !record.guard.passed);
    if (triggered && opts.autoRollback) {
      await stage('rollback', 'restoring the captured values', async () => {
        record.rollback = await rollback(ctx, client, { runId: record.runId, lockWaitMs: opts.lockWaitMs });
        record.afterRollback = await verify(ctx, client);
        return { ok: record.rollback.ok, summary: record.rollback.message };
      });
      record.outcome = 'rolled_back';
    } else {
      record.outcome = triggered ? 'triggered' : 'passed';
      if (!triggered) await setRunStatus(client, record.runId, 'passed');
    }
    return await finish(record, save);
  } catch (err) {
    if (!(err instanceof Interrupted)) throw err;
    record.outcome = 'interrupted';
    await recordStep(client, record.runId, 'interrupted', 'done').catch(() => undefined);
    await save().catch(() => undefined);
    return record;
  }
}

class Interrupted extends Error {}

async function finish(record: RunRecord, save: () => Promise<void>): Promise<RunRecord> {
  record.finishedAt = new Date().toISOString();
  if (record.runId) await save();
  return record;
}

export function loadSummary(l: LoadSample): string {
  const errors = Object.entries(l.errors).map(([k, v]) => `${k}×${v}`).join(', ') || 'no errors';
  return `${l.transactions} transactions, p95 ${l.latency.p95Ms.toFixed(2)}ms, ${errors}`;
}
