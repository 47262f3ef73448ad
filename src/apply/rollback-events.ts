import type { Client } from '../pg/client.js';
import type { StageContext } from '../stage.js';
import { rollback, type RollbackOptions, type RollbackResult } from './rollback.js';

/**
 * A rollback as one stage of the event stream (the `rollback` command, and the dashboard's
 * roll-back action): run.started, stage rollback with its rollback.step events, run.outcome.
 */
export async function rollbackWithEvents(ctx: StageContext, client: Client, opts: RollbackOptions): Promise<RollbackResult> {
  const ev = ctx.events;
  ev?.emit({ type: 'run.started', command: 'rollback', database: ctx.target.database, policySource: ctx.policy.source });
  if (opts.runId) ev?.setRunId(opts.runId);
  ev?.emit({ type: 'stage.started', stage: 'rollback', what: 'restoring the captured values' });
  const t = performance.now();
  try {
    const r = await rollback(ctx, client, opts);
    ev?.emit({ type: 'stage.finished', stage: 'rollback', ok: r.ok, ms: Math.round(performance.now() - t), summary: r.message });
    ev?.emit({ type: 'run.outcome', outcome: r.status, state: r.status === 'rolled_back' ? 'rolled_back' : null, error: null, next: null });
    return r;
  } catch (err) {
    ev?.emit({
      type: 'stage.finished',
      stage: 'rollback',
      ok: false,
      ms: Math.round(performance.now() - t),
      summary: (err as Error).message,
    });
    ev?.emit({ type: 'run.outcome', outcome: 'failed', state: null, error: (err as Error).message, next: null });
    throw err;
  }
}
