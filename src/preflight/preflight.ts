import type { Client } from '../pg/client.js';
import type { DatabaseState } from '../pg/catalog.js';
import { planData, type Plan } from '../plan/plan.js';
import { readPlan } from '../plan/read-plan.js';
import type { Finding } from '../plan/findings.js';
import type { StageContext } from '../stage.js';
import { RunDir, newRunId } from '../state/run-dir.js';
import { createRun, ensureStateSchema, saveBaseline } from '../state/store.js';
import { captureBaseline, type Baseline } from './baseline.js';

export interface PreflightResult {
  runId: string;
  runDir: string;
  state: DatabaseState;
  plan: Plan;
  findings: Finding[];
  blocked: boolean;
  baseline: Baseline;
}

/** Findings plus the baseline, stored in the state schema and the run directory. */
export async function preflight(
  ctx: StageContext,
  client: Client,
  opts: { command?: string; runId?: string; approvedBy?: string } = {},
): Promise<PreflightResult> {
  const { state, plan } = await readPlan(ctx, client);
  const runId = opts.runId ?? newRunId();
  const runDir = new RunDir(runId, ctx.runsRoot);
  ctx.log.info(`preflight: capturing baseline of ${state.database.name} (settings, connections, statistics, latency probe)…`);
  const baseline = await captureBaseline(client, state, ctx.latencyProbeRuns);
  await ensureStateSchema(client);
  await createRun(client, {
    id: runId,
    command: opts.command ?? 'preflight',
    database: state.database.name,
    status: 'preflight',
    policy: ctx.policy,
    approvedBy: opts.approvedBy,
  });
  await saveBaseline(client, runId, baseline.capturedAt, baseline);
  await runDir.write('baseline.json', baseline);
  await runDir.write('plan.json', planData(plan));
  await runDir.write('policy.json', ctx.policy);
  return { runId, runDir: runDir.dir, state, plan, findings: plan.findings, blocked: plan.blocked, baseline };
}
