import type { Client } from '../pg/client.js';
import { planData } from '../plan/plan.js';
import { readPlan } from '../plan/read-plan.js';
import type { StageContext } from '../stage.js';
import { describeState, IN_FORCE, isUnfinished, nextCommand, UNFINISHED } from '../run/state.js';
import { poolerRollout, type PoolerRollout } from '../estate/poolers.js';
import { poolersOf } from '../estate/targets.js';
import { listRuns, stateSchemaExists, type RunRow } from './store.js';
import { readHistory, type MigrationSetting } from '../migrate/history.js';

/** An applied migration (pgharden migrate) that changed settings of this database, its roles or the server. */
export interface MigrationSettings {
  version: number;
  migration: string;
  appliedAt: string;
  appliedBy: string;
  changes: MigrationSetting[];
}

/** Settings changes recorded by `migrate up`/`baseline` for `database` (role-wide and server values too), oldest first. */
async function migrationSettings(client: Client, database: string): Promise<MigrationSettings[]> {
  const out: MigrationSettings[] = [];
  for (const h of (await readHistory(client)).values()) {
    const changes = (h.settings ?? []).filter((c) => c.database === null || c.database === database);
    if (changes.length)
      out.push({ version: h.version, migration: `${h.version}_${h.name}`, appliedAt: h.appliedAt, appliedBy: h.appliedBy, changes });
  }
  return out.sort((a, b) => a.appliedAt.localeCompare(b.appliedAt));
}

/** The migration that last set or reset a database-level `setting`, if one did. */
function setByMigration(migrations: MigrationSettings[], setting: string): string | null {
  const last = migrations.filter((m) => m.changes.some((c) => c.scope === 'database' && c.database !== null && c.name === setting)).at(-1);
  return last?.migration ?? null;
}

export interface StatusResult {
  /** A check (issue 11): true only in the target state, so `status` exits 1 on drift. */
  ok: boolean;
  database: string;
  /** True when apply would change nothing. */
  inTargetState: boolean;
  /** Each setting that differs from the policy (or cannot be planned): what it is now and what the policy wants. */
  drift: {
    setting: string;
    databaseValue: string | null;
    effective: string;
    target: string | null;
    action: string;
    setByMigration: string | null;
  }[];
  /** Settings changed by `pgharden migrate` (ALTER DATABASE|ROLE … SET in migration files), the other way changes arrive. */
  migrations: MigrationSettings[];
  plan: ReturnType<typeof planData>;
  runs: RunRow[];
  latestApply: { runId: string; appliedAt: string } | null;
  /** Runs that stopped half-way, each with what it means and the command that finishes it. */
  unfinished: { runId: string; command: string; status: string; meaning: string; next: string | null }[];
  /** Sessions that began before the latest apply: they still run on the old settings. */
  sessionsOnOldSettings: { pid: number; usename: string | null; state: string | null; backendStart: string }[];
  sessionsTotal: number;
  /** PgBouncer server connections of `poolers:` opened before the latest apply (absent without poolers or an apply). */
  poolers?: PoolerRollout[];
}

export async function status(ctx: StageContext, client: Client): Promise<StatusResult> {
  const { state, plan } = await readPlan(ctx, client);
  const hasState = await stateSchemaExists(client);
  const runs = hasState ? await listRuns(client, state.database.name) : [];
  const migrations = hasState ? await migrationSettings(client, state.database.name) : [];
  // The applied run: the newest whose changes are in force or on their way (one definition, from the run state machine).
  const applied = runs.find((r) => (IN_FORCE.includes(r.status) || UNFINISHED.includes(r.status)) && r.appliedAt);
  const unfinished = runs
    .filter(isUnfinished)
    .map((r) => ({ runId: r.id, command: r.command, status: r.status, meaning: describeState(r.status), next: nextCommand(r) }));
  const since = applied ? new Date(applied.appliedAt!).getTime() : null;
  const old = since === null ? [] : state.sessions.filter((s) => new Date(s.backendStart).getTime() < since);
  // Nothing to change and every row reachable: a plan blocked only because this role could not
  // apply (not the owner, a monitoring login) still describes a database in the target state.
  const inTargetState = plan.operations.length === 0 && plan.rows.every((r) => r.action === 'none');
  const drift = plan.rows
    .filter((r) => r.action !== 'none')
    .map(({ setting, databaseValue, effective, effectiveFrom, target, action }) => ({
      setting,
      databaseValue,
      effective: `${effective} (${effectiveFrom})`,
      target,
      action,
      setByMigration: setByMigration(migrations, setting),
    }));
  const urls = poolersOf(ctx);
  const poolers =
    applied && urls.length ? await poolerRollout(urls, state.database.name, new Date(applied.appliedAt!).toISOString(), client) : null;
  return {
    ok: inTargetState,
    database: state.database.name,
    inTargetState,
    drift,
    plan: planData(plan),
    migrations,
    runs,
    latestApply: applied ? { runId: applied.id, appliedAt: new Date(applied.appliedAt!).toISOString() } : null,
    unfinished,
    sessionsOnOldSettings: old.map(({ pid, usename, state: s, backendStart }) => ({ pid, usename, state: s, backendStart })),
    sessionsTotal: state.sessions.length,
    ...(poolers ? { poolers } : {}),
  };
}
