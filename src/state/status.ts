import type { Client } from '../pg/client.js';
import { planData } from '../plan/plan.js';
import { readPlan } from '../preflight/preflight.js';
import type { StageContext } from '../stage.js';
import { describeState, IN_FORCE, isUnfinished, nextCommand, UNFINISHED } from '../run/state.js';
import { listRuns, stateSchemaExists, type RunRow } from './store.js';

export interface StatusResult {
  ok: true;
  database: string;
  /** True when apply would change nothing. */
  inTargetState: boolean;
  plan: ReturnType<typeof planData>;
  runs: RunRow[];
  latestApply: { runId: string; appliedAt: string } | null;
  /** Runs that stopped half-way, each with what it means and the command that finishes it. */
  unfinished: { runId: string; command: string; status: string; meaning: string; next: string | null }[];
  /** Sessions that began before the latest apply: they still run on the old settings. */
  sessionsOnOldSettings: { pid: number; usename: string | null; state: string | null; backendStart: string }[];
  sessionsTotal: number;
}

export async function status(ctx: StageContext, client: Client): Promise<StatusResult> {
  const { state, plan } = await readPlan(ctx, client);
  const runs = (await stateSchemaExists(client)) ? await listRuns(client, state.database.name) : [];
  // The applied run: the newest whose changes are in force or on their way (one definition, from the run state machine).
  const applied = runs.find((r) => (IN_FORCE.includes(r.status) || UNFINISHED.includes(r.status)) && r.appliedAt);
  const unfinished = runs.filter(isUnfinished)
    .map((r) => ({ runId: r.id, command: r.command, status: r.status, meaning: describeState(r.status), next: nextCommand(r) }));
  const since = applied ? new Date(applied.appliedAt!).getTime() : null;
  const old = since === null ? [] : state.sessions.filter((s) => new Date(s.backendStart).getTime() < since);
  return {
    ok: true,
    database: state.database.name,
    inTargetState: !plan.blocked && plan.operations.length === 0,
    plan: planData(plan),
    runs,
    latestApply: applied ? { runId: applied.id, appliedAt: new Date(applied.appliedAt!).toISOString() } : null,
    unfinished,
    sessionsOnOldSettings: old.map(({ pid, usename, state: s, backendStart }) => ({ pid, usename, state: s, backendStart })),
    sessionsTotal: state.sessions.length,
  };
}
