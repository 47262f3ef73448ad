import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Log } from '../log.js';
import { formatDuration } from '../policy/duration.js';
import type { ControlSession } from './control.js';
import {
  claimTargets,
  finishTarget,
  FINISHED,
  getFleet,
  heartbeat,
  recordRunId,
  releaseTarget,
  type ClaimedTarget,
  type FleetStatusName,
  type TargetState,
} from './store.js';
import { runTarget, type TargetRunSettings } from './target-run.js';

export interface WorkerOptions {
  fleetId: string;
  /** Targets this worker runs at once. */
  concurrency: number;
  /** A claim not renewed for this long may be taken by another worker. */
  leaseMs: number;
  settings: TargetRunSettings;
  log: Log;
  signal?: AbortSignal;
  /** Called after each target's result is recorded. */
  onTarget?: (
    t: ClaimedTarget,
    state: TargetState | 'interrupted' | 'lost',
    detail: { runId: string | null; error: string | null; ms: number },
  ) => void;
}

/** Why the worker stopped: the fleet finished, stopped, was paused, or the worker was interrupted. */
export type WorkerEnd = Extract<FleetStatusName, 'passed' | 'completed' | 'stopped'> | 'paused' | 'interrupted';

export interface WorkerResult {
  worker: string;
  end: WorkerEnd;
  /** Targets whose results this worker recorded, by state. */
  recorded: Partial<Record<TargetState, number>>;
}

/** `host:pid:random`: names a worker in leases and events, unique across machines and restarts. */
export function workerId(): string {
  return `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * One worker of a rollout: claim targets of the current wave (up to `concurrency` at once), run
 * each, record the result; keep the claims' leases alive with heartbeats; stop when the fleet is
 * finished, stopped or paused (after the targets in hand), or at once when interrupted (the runs
 * stop resumable and the claims are given back). Several workers on one control database share
 * the rollout; one that dies loses its claims when their leases expire.
 */
export async function runWorker(control: ControlSession, opts: WorkerOptions, worker = workerId()): Promise<WorkerResult> {
  const inflight = new Map<string, { abort: AbortController; done: Promise<void> }>();
  const recorded: WorkerResult['recorded'] = {};
  const pollMs = Math.max(50, Math.min(500, Math.floor(opts.leaseMs / 4)));
  let lastBeat = Date.now();

  // Heartbeats: every third of the lease. A claim missing from the answer was taken by another
  // worker (our lease had expired): its run stops. No answer for a whole lease: assume all lost.
  const beat = async () => {
    if (!inflight.size) {
      lastBeat = Date.now();
      return;
    }
    try {
      const held = await control.run((c) => heartbeat(c, opts.fleetId, worker, opts.leaseMs));
      lastBeat = Date.now();
      for (const [key, task] of inflight) {
        if (!held.has(key)) {
          opts.log.warn(`${key}: this worker's claim was taken by another (its lease expired); stopping its run`);
          task.abort.abort();
        }
      }
    } catch (err) {
      opts.log.warn(`heartbeat to the control database failed: ${(err as Error).message}`);
      if (Date.now() - lastBeat > opts.leaseMs) for (const task of inflight.values()) task.abort.abort();
    }
  };
  const timer = setInterval(() => void beat(), Math.max(20, Math.floor(opts.leaseMs / 3)));

  const start = (claim: ClaimedTarget) => {
    const abort = new AbortController();
    const onOuter = () => abort.abort();
    opts.signal?.addEventListener('abort', onOuter, { once: true });
    const t0 = performance.now();
    const done = (async () => {
      const result = await runTarget(claim, opts.settings, {
        signal: abort.signal,
        recordRunId: (runId) => control.run((c) => recordRunId(c, opts.fleetId, claim, worker, runId)),
      });
      const ms = performance.now() - t0;
      if (result.state === 'interrupted') {
        await control.run((c) => releaseTarget(c, opts.fleetId, claim, worker, 'worker interrupted')).catch(() => undefined);
        opts.onTarget?.(claim, 'interrupted', { runId: result.runId, error: null, ms });
        return;
      }
      if (result.state === 'lost') {
        opts.onTarget?.(claim, 'lost', { runId: null, error: null, ms });
        return;
      }
      const kept = await control.run((c) => finishTarget(c, opts.fleetId, claim, worker, { ...result, ms }));
      if (!kept) {
        opts.log.warn(
          `${claim.key}: the claim was lost before the result was recorded; the next claim reads run ${result.runId} from the target's journal`,
        );
        opts.onTarget?.(claim, 'lost', { runId: result.runId, error: null, ms });
        return;
      }
      recorded[result.state] = (recorded[result.state] ?? 0) + 1;
      opts.onTarget?.(claim, result.state, { runId: result.runId, error: result.error, ms });
    })()
      .catch((err) =>
        opts.log.warn(
          `${claim.key}: could not record the result: ${(err as Error).message} (the next claim reads it from the target's journal)`,
        ),
      )
      .finally(() => {
        opts.signal?.removeEventListener('abort', onOuter);
        inflight.delete(claim.key);
      });
    inflight.set(claim.key, { abort, done });
  };

  let end: WorkerEnd = 'interrupted';
  try {
    for (;;) {
      if (opts.signal?.aborted) break;
      const free = opts.concurrency - inflight.size;
      const claimed = free > 0 ? await control.run((c) => claimTargets(c, opts.fleetId, worker, free, opts.leaseMs)) : [];
      for (const claim of claimed) start(claim);
      if (claimed.length && claimed.length === free) continue;
      if (!inflight.size) {
        const fleet = await control.run((c) => getFleet(c, opts.fleetId));
        if (!fleet) throw new Error(`fleet ${opts.fleetId} disappeared from the control database`);
        if (FINISHED.includes(fleet.status)) {
          end = fleet.status as WorkerEnd;
          break;
        }
        if (fleet.paused) {
          end = 'paused';
          break;
        }
        // Other workers hold the rest of the wave, or a wave pause runs: wait and look again.
        const wait = new Date(fleet.waveReadyAt).getTime() - Date.now();
        if (wait > pollMs) opts.log.info(`waiting ${formatDuration(wait)} before wave ${fleet.currentWave} (wave_pause)`);
        await sleep(Math.max(pollMs, Math.min(wait, 5000)), opts.signal);
        continue;
      }
      // Wake when a slot frees up, or to look for claims that expired meanwhile.
      await Promise.race([sleep(pollMs, opts.signal), ...[...inflight.values()].map((t) => t.done)]);
    }
  } finally {
    if (opts.signal?.aborted) for (const t of inflight.values()) t.abort.abort();
    await Promise.all([...inflight.values()].map((t) => t.done));
    clearInterval(timer);
  }
  return { worker, end: opts.signal?.aborted ? 'interrupted' : end, recorded };
}
