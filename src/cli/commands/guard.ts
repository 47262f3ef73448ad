import type { Command } from 'commander';
import { rollback, type RollbackResult } from '../../apply/rollback.js';
import { UsageError } from '../../errors.js';
import { guard, guardBaseline, type GuardResult } from '../../guard/guard.js';
import { formatDuration } from '../../policy/duration.js';
import type { Baseline } from '../../preflight/baseline.js';
import { latestAppliedRun, loadBaseline, stateSchemaExists } from '../../state/store.js';
import { durationFlag, durationOption } from '../options.js';
import { runCommand, type GlobalOptions } from '../session.js';
import { eventsOption, withEvents } from '../events.js';

interface GuardFlags extends GlobalOptions {
  window?: number;
  interval: number;
  autoRollback: boolean;
  log?: string;
  events?: string;
}

export function register(program: Command): void {
  program
    .command('guard')
    .description('watch the latest applied run for a window and roll it back when a trigger fires')
    .option('--window <duration>', 'how long to watch (default: guard_window of the policy)', durationOption)
    .addOption(durationFlag('--interval <duration>', 'sampling interval', 1000))
    .option('--no-auto-rollback', 'report a fired trigger but leave the changes in place')
    .option('--log <file>', 'server log to count timeout and too-many-connections messages in')
    .addOption(eventsOption())
    .addHelpText(
      'after',
      `
Compares the window with the baseline that apply captured (pg_stat_database failure rate,
pg_stat_statements mean time, connections against the limit, the policy's checks).
Exit 0 no trigger fired, 1 a trigger fired (rolled back unless --no-auto-rollback), 2 no applied run.`,
    )
    .action(async (_o, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GuardFlags>();
      await runCommand(
        opts,
        async ({ ctx: outer, client }) =>
          withEvents('guard', outer, opts, async (ctx) => {
            const run = (await stateSchemaExists(client)) ? await latestAppliedRun(client, ctx.target.database) : null;
            const baseline = run ? await loadBaseline<Baseline>(client, run.id) : null;
            if (!run || !baseline)
              throw new UsageError('no applied run with a baseline for this database: guard watches what `pgharden apply` changed');
            const windowMs = opts.window ?? ctx.policy.guard_window;
            ctx.log.info(`guarding run ${run.id} on ${ctx.target.database} for ${formatDuration(windowMs)}…`);
            const ev = ctx.events;
            ev?.emit({ type: 'run.started', command: 'guard', database: ctx.target.database, policySource: ctx.policy.source });
            ev?.setRunId(run.id);
            ev?.emit({ type: 'stage.started', stage: 'guard', what: `watching for ${formatDuration(windowMs)}` });
            const result: GuardResult = await guard(ctx, client, {
              windowMs,
              intervalMs: opts.interval,
              baseline: guardBaseline(baseline, null),
              logFile: opts.log,
            });
            ev?.emit({
              type: 'stage.finished',
              stage: 'guard',
              ok: result.passed,
              ms: Math.round(result.observedMs),
              summary: result.passed
                ? `no trigger fired in ${formatDuration(result.observedMs)}`
                : result.fired.map((t) => `${t.trigger}: ${t.summary}`).join('; ') || 'stopped',
            });
            let rolledBack: RollbackResult | null = null;
            if (result.fired.length && opts.autoRollback) {
              ev?.emit({ type: 'stage.started', stage: 'rollback', what: 'restoring the captured values' });
              const t = performance.now();
              rolledBack = await rollback(ctx, client, { runId: run.id, lockWaitMs: 60_000 });
              ev?.emit({
                type: 'stage.finished',
                stage: 'rollback',
                ok: rolledBack.ok,
                ms: Math.round(performance.now() - t),
                summary: rolledBack.message,
              });
            }
            const outcome = result.passed ? 'passed' : rolledBack ? 'rolled_back' : result.interrupted ? 'interrupted' : 'triggered';
            ev?.emit({
              type: 'run.outcome',
              outcome,
              state: rolledBack ? 'rolled_back' : null,
              error: null,
              next: !result.passed && !rolledBack ? `pgharden rollback --run ${run.id}` : null,
            });
            return { ok: result.passed, runId: run.id, guard: result, rollback: rolledBack };
          }),
        (r, { log }) => {
          for (const t of r.guard.triggers) log.info(`  ${t.fired ? 'FIRED' : t.measured ? 'ok   ' : 'n/a  '} ${t.trigger}: ${t.summary}`);
          if (r.rollback) log.info(r.rollback.message);
          else if (!r.ok) log.info(`trigger fired; changes left in place. Undo with: pgharden rollback --run ${r.runId}`);
          else log.info(`no trigger fired in ${formatDuration(r.guard.observedMs)}`);
        },
      );
    });
}
