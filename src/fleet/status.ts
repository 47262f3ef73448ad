import type { Client } from '../pg/client.js';
import { fleetSchemaExists } from './control.js';
import { FAILED_STATES, getFleet, TARGET_STATES, type FleetStatusName, type TargetState } from './store.js';

/** One target as status shows it. */
export interface FleetTargetStatus {
  key: string;
  wave: number;
  position: number;
  state: TargetState;
  attempts: number;
  runId: string | null;
  outcome: string | null;
  error: string | null;
  /** The worker holding the claim (running) or the one that recorded the result. */
  worker: string | null;
  leaseUntil: string | null;
  /** The lease ran out: the worker is presumed dead and the next claim finishes this target. */
  leaseExpired: boolean;
  ms: number | null;
  finishedAt: string | null;
}

export interface FleetWaveStatus {
  wave: number;
  size: number;
  maxFailures: number;
  counts: Record<TargetState, number>;
  /** pending: not reached yet; running: the current wave; done: every target has a result. */
  state: 'pending' | 'running' | 'done';
}

/**
 * A fleet rollout as plain data: what `fleet status --json` prints and what a dashboard reads.
 * Everything comes from the control database, so any machine sees the same rollout.
 */
export interface FleetStatus {
  fleet: string;
  status: FleetStatusName;
  paused: boolean;
  pausedBy: string | null;
  stopReason: string | null;
  policySource: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  currentWave: number;
  /** When the current wave may start (a wave_pause). */
  waveReadyAt: string;
  total: number;
  counts: Record<TargetState, number>;
  waves: FleetWaveStatus[];
  /** Failed targets: which, why, and whether their own run rolled them back. */
  failures: { key: string; wave: number; state: TargetState; runId: string | null; reason: string; rolledBack: boolean }[];
  /** Targets no worker touched: what a stopped or paused fleet left as it was. */
  untouched: string[];
  /** Workers holding claims now, with their number of targets. */
  workers: { worker: string; targets: number; leaseUntil: string }[];
  targets: FleetTargetStatus[];
}

const zero = (): Record<TargetState, number> => Object.fromEntries(TARGET_STATES.map((s) => [s, 0])) as Record<TargetState, number>;
const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

/** The fleet `fleetId` (default: the newest), or null when the control database has none. */
export async function readFleetStatus(client: Client, fleetId?: string): Promise<FleetStatus | null> {
  if (!(await fleetSchemaExists(client))) return null;
  const fleet = await getFleet(client, fleetId);
  if (!fleet) return null;
  const { rows } = await client.query(
    `SELECT key, wave, position, state, attempts, run_id AS "runId", outcome, error, coalesce(lease_owner, worker) AS worker,
            lease_until AS "leaseUntil", lease_until < now() AS "leaseExpired", ms, finished_at AS "finishedAt"
       FROM pgharden_fleet.targets WHERE fleet_id = $1 ORDER BY position`,
    [fleet.id],
  );
  const targets: FleetTargetStatus[] = rows.map((r) => ({
    ...r,
    leaseUntil: iso(r.leaseUntil),
    leaseExpired: Boolean(r.leaseExpired) && r.state === 'running',
    finishedAt: iso(r.finishedAt),
  }));
  const counts = zero();
  for (const t of targets) counts[t.state]++;
  const waves: FleetWaveStatus[] = fleet.waves.map((w) => {
    const c = zero();
    for (const t of targets) if (t.wave === w.wave) c[t.state]++;
    const open = c.pending + c.running;
    const state = open === 0 ? 'done' : w.wave === fleet.currentWave && fleet.status !== 'planned' ? 'running' : 'pending';
    return { wave: w.wave, size: w.size, maxFailures: w.maxFailures, counts: c, state };
  });
  const byWorker = new Map<string, { targets: number; leaseUntil: string }>();
  for (const t of targets) {
    if (t.state !== 'running' || !t.leaseUntil || t.leaseExpired || !t.worker) continue;
    const w = byWorker.get(t.worker) ?? { targets: 0, leaseUntil: t.leaseUntil };
    w.targets++;
    if (t.leaseUntil > w.leaseUntil) w.leaseUntil = t.leaseUntil;
    byWorker.set(t.worker, w);
  }
  return {
    fleet: fleet.id,
    status: fleet.status,
    paused: fleet.paused,
    pausedBy: fleet.pausedBy,
    stopReason: fleet.stopReason,
    policySource: fleet.policySource,
    createdAt: iso(fleet.createdAt)!,
    startedAt: iso(fleet.startedAt),
    finishedAt: iso(fleet.finishedAt),
    currentWave: fleet.currentWave,
    waveReadyAt: iso(fleet.waveReadyAt)!,
    total: targets.length,
    counts,
    waves,
    failures: targets
      .filter((t) => FAILED_STATES.includes(t.state))
      .map((t) => ({
        key: t.key,
        wave: t.wave,
        state: t.state,
        runId: t.runId,
        reason: t.error ?? t.outcome ?? t.state,
        rolledBack: t.state === 'rolled_back',
      })),
    untouched: targets.filter((t) => t.state === 'pending' && t.attempts === 0).map((t) => t.key),
    workers: [...byWorker].map(([worker, w]) => ({ worker, ...w })),
    targets,
  };
}

/** Names of every fleet in the control database, newest first. */
export async function listFleets(client: Client): Promise<{ id: string; status: FleetStatusName; createdAt: string }[]> {
  if (!(await fleetSchemaExists(client))) return [];
  const { rows } = await client.query(`SELECT id, status, created_at AS "createdAt" FROM pgharden_fleet.fleets ORDER BY created_at DESC`);
  return rows.map((r) => ({ ...r, createdAt: iso(r.createdAt)! }));
}
