import { connect, inTransaction, isConnectFailure, type Client } from '../pg/client.js';
import type { Target } from '../pg/target.js';
import { ADVISORY_LOCKS } from '../pg/advisory-locks.js';

/**
 * The control database's schema: one row per fleet, one per target (its state and its claim),
 * and an event log. Workers coordinate through these rows only: a claim is a row lock taken with
 * FOR UPDATE SKIP LOCKED plus a lease (lease_owner, lease_until) that heartbeats extend; the
 * control server's clock (now()) is the only clock that decides whether a lease has expired.
 */
const DDL = `
CREATE SCHEMA IF NOT EXISTS pgharden_fleet;
COMMENT ON SCHEMA pgharden_fleet IS 'pgharden fleet rollouts: plans, target states and claims, events';
CREATE TABLE IF NOT EXISTS pgharden_fleet.fleets (
  id             text PRIMARY KEY,
  status         text NOT NULL CHECK (status IN ('planned', 'running', 'stopped', 'passed', 'completed')),
  paused         boolean NOT NULL DEFAULT false,
  paused_by      text,
  inventory      jsonb NOT NULL,
  inventory_hash text NOT NULL,
  policy         jsonb NOT NULL,
  policy_source  text NOT NULL,
  waves          jsonb NOT NULL,
  current_wave   int NOT NULL DEFAULT 1,
  wave_ready_at  timestamptz NOT NULL DEFAULT now(),
  stop_reason    text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  started_at     timestamptz,
  finished_at    timestamptz
);
CREATE TABLE IF NOT EXISTS pgharden_fleet.targets (
  fleet_id    text NOT NULL REFERENCES pgharden_fleet.fleets(id) ON DELETE CASCADE,
  key         text NOT NULL,
  position    int NOT NULL,
  wave        int NOT NULL,
  conninfo    text NOT NULL,
  database    text,
  env         text,
  state       text NOT NULL DEFAULT 'pending'
              CHECK (state IN ('pending', 'running', 'passed', 'rolled_back', 'blocked', 'failed', 'needs_attention')),
  attempts    int NOT NULL DEFAULT 0,
  lease_owner text,
  lease_until timestamptz,
  run_id      text,
  outcome     text,
  error       text,
  worker      text,
  started_at  timestamptz,
  finished_at timestamptz,
  ms          double precision,
  PRIMARY KEY (fleet_id, key)
);
CREATE INDEX IF NOT EXISTS targets_open ON pgharden_fleet.targets (fleet_id, wave, position) WHERE state IN ('pending', 'running');
CREATE TABLE IF NOT EXISTS pgharden_fleet.events (
  id       bigserial PRIMARY KEY,
  fleet_id text NOT NULL REFERENCES pgharden_fleet.fleets(id) ON DELETE CASCADE,
  at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  worker   text,
  target   text,
  kind     text NOT NULL,
  detail   jsonb
);
CREATE INDEX IF NOT EXISTS events_fleet ON pgharden_fleet.events (fleet_id, id);`;

/** Create the schema once; concurrent workers serialise on an advisory lock (CREATE … IF NOT EXISTS can still collide). */
export async function ensureFleetSchema(client: Client): Promise<void> {
  const { rows } = await client.query(`SELECT to_regclass('pgharden_fleet.events') IS NOT NULL AS present`);
  if (rows[0].present) return;
  await inTransaction(client, async () => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [ADVISORY_LOCKS.fleetSchema]);
    await client.query(DDL);
  });
}

export async function fleetSchemaExists(client: Client): Promise<boolean> {
  const { rows } = await client.query(`SELECT to_regclass('pgharden_fleet.events') IS NOT NULL AS present`);
  return rows[0].present;
}

/**
 * The worker's session on the control database. Claims, heartbeats and results come from
 * concurrent target tasks, so they are serialised here (a transaction must not interleave with
 * another's statements on one session); a lost session is reopened on the next use.
 */
export class ControlSession {
  private client: Client | null = null;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly target: Target,
    private readonly onLost: (err: Error) => void = () => undefined,
  ) {}

  /** One unit of work on the session, after those queued before it. */
  run<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    const next = this.chain.then(async () => {
      const client = await this.session();
      try {
        return await fn(client);
      } catch (err) {
        if (
          isConnectFailure(err) ||
          !(await client.query('SELECT 1').then(
            () => true,
            () => false,
          ))
        )
          await this.drop();
        throw err;
      }
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** One transaction, serialised like `run`. */
  tx<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    return this.run((c) => inTransaction(c, () => fn(c)));
  }

  async close(): Promise<void> {
    await this.chain.catch(() => undefined);
    await this.drop();
  }

  private async session(): Promise<Client> {
    if (this.client) return this.client;
    const client = await connect(this.target, {
      appName: 'pgharden fleet control',
      statementTimeoutMs: 30_000,
      lockTimeoutMs: 20_000,
      onError: (err) => {
        if (this.client === client) this.client = null;
        this.onLost(err);
      },
    });
    this.client = client;
    return client;
  }

  private async drop(): Promise<void> {
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => undefined);
  }
}
