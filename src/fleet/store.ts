import { BlockedError, UsageError } from '../errors.js';
import { inTransaction, type Client } from '../pg/client.js';
import { ADVISORY_LOCKS } from '../pg/advisory-locks.js';
import type { TargetSpec } from './targets.js';
import type { WavePlan } from './waves.js';

/** Where a target is in the rollout. */
export const TARGET_STATES = ['pending', 'running', 'passed', 'rolled_back', 'blocked', 'failed', 'needs_attention'] as const;
export type TargetState = (typeof TARGET_STATES)[number];
/** Targets that count against max_failures. */
export const FAILED_STATES: TargetState[] = ['rolled_back', 'blocked', 'failed', 'needs_attention'];

export type FleetStatusName = 'planned' | 'running' | 'stopped' | 'passed' | 'completed';
/** A fleet no worker will claim from again. */
export const FINISHED: FleetStatusName[] = ['stopped', 'passed', 'completed'];

export interface FleetRow {
  id: string;
  status: FleetStatusName;
  paused: boolean;
  pausedBy: string | null;
  inventory: Record<string, unknown> & { wave_pause?: number | 'manual' };
  inventoryHash: string;
  policy: unknown;
  policySource: string;
  waves: WavePlan[];
  currentWave: number;
  waveReadyAt: Date;
  stopReason: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

const FLEET_COLUMNS = `id, status, paused, paused_by AS "pausedBy", inventory, inventory_hash AS "inventoryHash", policy,
  policy_source AS "policySource", waves, current_wave AS "currentWave", wave_ready_at AS "waveReadyAt", stop_reason AS "stopReason",
  created_at AS "createdAt", started_at AS "startedAt", finished_at AS "finishedAt"`;

export async function getFleet(client: Client, id?: string): Promise<FleetRow | null> {
  const { rows } = id
    ? await client.query(`SELECT ${FLEET_COLUMNS} FROM pgharden_fleet.fleets WHERE id = $1`, [id])
    : await client.query(`SELECT ${FLEET_COLUMNS} FROM pgharden_fleet.fleets ORDER BY created_at DESC LIMIT 1`);
  return rows[0] ?? null;
}

export async function event(
  client: Client,
  fleetId: string,
  kind: string,
  e: { worker?: string; target?: string; detail?: unknown } = {},
): Promise<void> {
  await client.query(`INSERT INTO pgharden_fleet.events (fleet_id, worker, target, kind, detail) VALUES ($1, $2, $3, $4, $5)`, [
    fleetId,
    e.worker ?? null,
    e.target ?? null,
    kind,
    e.detail === undefined ? null : JSON.stringify(e.detail),
  ]);
}

export interface NewPlan {
  id: string;
  inventory: unknown;
  inventoryHash: string;
  policy: unknown;
  policySource: string;
  waves: WavePlan[];
  targets: (TargetSpec & { wave: number })[];
}

/**
 * Write a fleet's plan once. The same inventory again finds the existing plan (a second
 * `fleet run`, a resumed one); a different one replaces a plan that never started and is
 * refused for one that did (its targets' states belong to the old plan).
 */
export async function savePlan(client: Client, plan: NewPlan): Promise<{ fleet: FleetRow; created: boolean }> {
  return inTransaction(client, async () => {
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [ADVISORY_LOCKS.fleetPlan, plan.id]);
    const existing = await getFleet(client, plan.id);
    if (existing && existing.inventoryHash === plan.inventoryHash) return { fleet: existing, created: false };
    if (existing) {
      const { rows } = await client.query(`SELECT count(*)::int AS n FROM pgharden_fleet.targets WHERE fleet_id = $1 AND attempts > 0`, [
        plan.id,
      ]);
      if (existing.status !== 'planned' || rows[0].n > 0) {
        throw new BlockedError(
          `fleet ${plan.id} was started (${existing.status}) from a different inventory or policy: it cannot be re-planned. ` +
            `Finish it with \`pgharden fleet resume\`, or give the new rollout another name: (inventory name:)`,
        );
      }
      await client.query(`DELETE FROM pgharden_fleet.fleets WHERE id = $1`, [plan.id]);
    }
    await client.query(
      `INSERT INTO pgharden_fleet.fleets (id, status, inventory, inventory_hash, policy, policy_source, waves)
       VALUES ($1, 'planned', $2, $3, $4, $5, $6)`,
      [
        plan.id,
        JSON.stringify(plan.inventory),
        plan.inventoryHash,
        JSON.stringify(plan.policy),
        plan.policySource,
        JSON.stringify(plan.waves),
      ],
    );
    // One statement for the whole set: a thousand targets are one round trip.
    await client.query(
      `INSERT INTO pgharden_fleet.targets (fleet_id, key, position, wave, conninfo, database, env)
       SELECT $1, t.key, t.position, t.wave, t.conninfo, t.database, t.env
         FROM jsonb_to_recordset($2::jsonb) AS t(key text, position int, wave int, conninfo text, database text, env text)`,
      [plan.id, JSON.stringify(plan.targets.map((t, i) => ({ ...t, position: i + 1 })))],
    );
    await event(client, plan.id, existing ? 'replanned' : 'planned', { detail: { targets: plan.targets.length, waves: plan.waves } });
    return { fleet: (await getFleet(client, plan.id))!, created: true };
  });
}

/** planned → running (idempotent): the first worker starts the rollout. */
export async function startFleet(client: Client, id: string, worker: string): Promise<void> {
  const { rowCount } = await client.query(
    `UPDATE pgharden_fleet.fleets SET status = 'running', started_at = now(), wave_ready_at = now() WHERE id = $1 AND status = 'planned'`,
    [id],
  );
  if (rowCount) await event(client, id, 'started', { worker });
}

/** A target as a worker claimed it. */
export interface ClaimedTarget extends TargetSpec {
  position: number;
  wave: number;
  attempts: number;
  /** The run of an earlier claim, whose journal decides what this claim does. */
  runId: string | null;
}

/**
 * Claim up to `n` targets of the current wave: pending ones, and running ones whose lease expired
 * (their worker died). The fleet row is read FOR SHARE, so claims never overlap a result that
 * stops the fleet or moves it to the next wave; target rows are taken FOR UPDATE SKIP LOCKED, so
 * concurrent workers claim disjoint sets without waiting for each other.
 */
export async function claimTargets(client: Client, fleetId: string, worker: string, n: number, leaseMs: number): Promise<ClaimedTarget[]> {
  return inTransaction(client, async () => {
    const {
      rows: [f],
    } = await client.query(
      `SELECT status, paused, current_wave AS wave, wave_ready_at <= now() AS ready FROM pgharden_fleet.fleets WHERE id = $1 FOR SHARE`,
      [fleetId],
    );
    if (!f || f.status !== 'running' || f.paused || !f.ready) return [];
    const { rows } = await client.query(
      `WITH c AS (
         SELECT key FROM pgharden_fleet.targets
          WHERE fleet_id = $1 AND wave = $2
            AND (state = 'pending' OR (state = 'running' AND (lease_until IS NULL OR lease_until < now())))
          ORDER BY position LIMIT $3
          FOR UPDATE SKIP LOCKED)
       UPDATE pgharden_fleet.targets t
          SET state = 'running', lease_owner = $4, lease_until = now() + $5 * interval '1 millisecond',
              attempts = t.attempts + 1, started_at = coalesce(t.started_at, now())
         FROM c WHERE t.fleet_id = $1 AND t.key = c.key
       RETURNING t.key, t.position, t.wave, t.conninfo, t.database, t.env, t.attempts, t.run_id AS "runId"`,
      [fleetId, f.wave, n, worker, leaseMs],
    );
    const reclaimed = rows.filter((r) => r.attempts > 1);
    if (reclaimed.length) {
      await client.query(
        `INSERT INTO pgharden_fleet.events (fleet_id, worker, target, kind, detail)
         SELECT $1, $2, r.key, 'reclaimed', jsonb_build_object('attempt', r.attempts, 'run_id', r.run_id)
           FROM jsonb_to_recordset($3::jsonb) AS r(key text, attempts int, run_id text)`,
        [fleetId, worker, JSON.stringify(reclaimed.map((r) => ({ key: r.key, attempts: r.attempts, run_id: r.runId })))],
      );
    }
    return (rows as ClaimedTarget[]).sort((a, b) => a.position - b.position);
  });
}

/** The fencing condition of every write a claim makes: this worker, this attempt, still running. */
const FENCE = `fleet_id = $1 AND key = $2 AND lease_owner = $3 AND attempts = $4 AND state = 'running'`;

/** Record the run id before the run starts: a worker that dies later leaves it for the next claim to look up. */
export async function recordRunId(client: Client, fleetId: string, c: ClaimedTarget, worker: string, runId: string): Promise<boolean> {
  const { rowCount } = await client.query(`UPDATE pgharden_fleet.targets SET run_id = $5 WHERE ${FENCE}`, [
    fleetId,
    c.key,
    worker,
    c.attempts,
    runId,
  ]);
  return Boolean(rowCount);
}

/** Extend this worker's leases; the keys returned are the claims it still holds. */
export async function heartbeat(client: Client, fleetId: string, worker: string, leaseMs: number): Promise<Set<string>> {
  const { rows } = await client.query(
    `UPDATE pgharden_fleet.targets SET lease_until = now() + $3 * interval '1 millisecond'
      WHERE fleet_id = $1 AND lease_owner = $2 AND state = 'running' RETURNING key`,
    [fleetId, worker, leaseMs],
  );
  return new Set(rows.map((r) => r.key as string));
}

/** Give a claim back at once (an interrupted worker): the next claim finds the run in the target's journal. */
export async function releaseTarget(client: Client, fleetId: string, c: ClaimedTarget, worker: string, why: string): Promise<void> {
  const { rowCount } = await client.query(`UPDATE pgharden_fleet.targets SET lease_owner = NULL, lease_until = now() WHERE ${FENCE}`, [
    fleetId,
    c.key,
    worker,
    c.attempts,
  ]);
  if (rowCount) await event(client, fleetId, 'released', { worker, target: c.key, detail: { why } });
}

export interface TargetResult {
  state: Exclude<TargetState, 'pending' | 'running'>;
  outcome: string | null;
  error: string | null;
  runId: string | null;
  ms: number;
}

/**
 * Record a target's result and decide the fleet's next step in the same transaction (the fleet
 * row FOR UPDATE): a wave that reached max_failures stops the fleet; a finished wave opens the
 * next (after wave_pause, or paused for `manual`); the last one finishes the rollout.
 * Returns false when the claim was lost (another worker reclaimed it): nothing is written.
 */
export async function finishTarget(client: Client, fleetId: string, c: ClaimedTarget, worker: string, r: TargetResult): Promise<boolean> {
  return inTransaction(client, async () => {
    const fleet = (await client.query(`SELECT ${FLEET_COLUMNS} FROM pgharden_fleet.fleets WHERE id = $1 FOR UPDATE`, [fleetId]))
      .rows[0] as FleetRow;
    const { rowCount } = await client.query(
      `UPDATE pgharden_fleet.targets SET state = $5, outcome = $6, error = $7, run_id = coalesce($8, run_id), ms = $9, worker = $3,
              finished_at = now(), lease_owner = NULL, lease_until = NULL
        WHERE ${FENCE}`,
      [fleetId, c.key, worker, c.attempts, r.state, r.outcome, r.error, r.runId, r.ms],
    );
    if (!rowCount) return false;
    await event(client, fleetId, 'finished', { worker, target: c.key, detail: { state: r.state, run_id: r.runId, error: r.error } });
    if (fleet.status !== 'running') return true;
    await advance(client, fleet);
    return true;
  });
}

async function advance(client: Client, fleet: FleetRow): Promise<void> {
  const wave = fleet.waves.find((w) => w.wave === fleet.currentWave)!;
  const {
    rows: [n],
  } = await client.query(
    `SELECT count(*) FILTER (WHERE state = ANY($3::text[]))::int AS failed,
            count(*) FILTER (WHERE state IN ('pending', 'running'))::int AS open
       FROM pgharden_fleet.targets WHERE fleet_id = $1 AND wave = $2`,
    [fleet.id, wave.wave, FAILED_STATES],
  );
  if (n.failed >= wave.maxFailures) {
    const reason = `wave ${wave.wave}: ${n.failed} of ${wave.size} target(s) failed (max_failures ${wave.maxFailures})`;
    await client.query(`UPDATE pgharden_fleet.fleets SET status = 'stopped', stop_reason = $2, finished_at = now() WHERE id = $1`, [
      fleet.id,
      reason,
    ]);
    await event(client, fleet.id, 'stopped', { detail: { reason } });
    return;
  }
  if (n.open > 0) return;
  const next = fleet.waves.find((w) => w.wave > wave.wave);
  if (!next) {
    const {
      rows: [t],
    } = await client.query(
      `SELECT count(*) FILTER (WHERE state = ANY($2::text[]))::int AS failed FROM pgharden_fleet.targets WHERE fleet_id = $1`,
      [fleet.id, FAILED_STATES],
    );
    const status = t.failed ? 'completed' : 'passed';
    await client.query(`UPDATE pgharden_fleet.fleets SET status = $2, finished_at = now() WHERE id = $1`, [fleet.id, status]);
    await event(client, fleet.id, status, { detail: { failed: t.failed } });
    return;
  }
  const pause = fleet.inventory.wave_pause;
  await client.query(
    `UPDATE pgharden_fleet.fleets SET current_wave = $2, wave_ready_at = now() + $3 * interval '1 millisecond',
            paused = paused OR $4, paused_by = CASE WHEN $4 THEN 'wave_pause: manual' ELSE paused_by END
      WHERE id = $1`,
    [fleet.id, next.wave, typeof pause === 'number' ? pause : 0, pause === 'manual'],
  );
  await event(client, fleet.id, 'wave', { detail: { wave: next.wave, size: next.size, pause: pause ?? null } });
}

/** Workers finish what they hold and claim nothing more until `resume`. */
export async function pauseFleet(client: Client, id: string, by: string): Promise<FleetRow> {
  const fleet = await getFleet(client, id);
  if (!fleet) throw new UsageError(`no fleet ${id} in the control database`);
  if (FINISHED.includes(fleet.status)) throw new BlockedError(`fleet ${id} is ${fleet.status}: there is nothing to pause`);
  await client.query(`UPDATE pgharden_fleet.fleets SET paused = true, paused_by = $2 WHERE id = $1`, [id, by]);
  await event(client, id, 'paused', { worker: by });
  return (await getFleet(client, id))!;
}

/** Lift a pause; a stopped fleet is refused: its failures need a person's decision, not a retry. */
export async function unpauseFleet(client: Client, id: string, by: string): Promise<FleetRow> {
  const fleet = await getFleet(client, id);
  if (!fleet) throw new UsageError(`no fleet ${id} in the control database (plan it with \`pgharden fleet plan\`)`);
  if (fleet.status === 'stopped') {
    throw new BlockedError(
      `fleet ${id} stopped: ${fleet.stopReason}. The failed targets rolled back; see \`pgharden fleet status\`. Fix the cause, then roll out again under a new name: (inventory name:)`,
    );
  }
  if (fleet.paused) {
    await client.query(
      `UPDATE pgharden_fleet.fleets SET paused = false, paused_by = NULL, wave_ready_at = least(wave_ready_at, now()) WHERE id = $1`,
      [id],
    );
    await event(client, id, 'resumed', { worker: by });
  }
  return (await getFleet(client, id))!;
}
