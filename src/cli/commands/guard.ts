import type { Command } from 'commander';
import { rollback, type RollbackResult } from '../../apply/rollback.js';
import { UsageError } from '../../errors.js';
import { guard, guardBaseline, type GuardResult } from '../../guard/guard.js';
import { formatDuration } from '../../policy/duration.js';
import type { Baseline } from '../../preflight/baseline.js';
import { latestAppliedRun, loadBaseline, stateSchemaExists } from '../../state/store.js';
import { durationFlag, durationOption } from '../options.js';
import { runCommand, type GlobalOptions } from '../session.js';

interface GuardFlags extends GlobalOptions {
  window?: number;
  interval: number;
  autoRollback: boolean;
  log?: string;
}

export function register(program: Command): void {
  program
    .command('guard')
    .description('watch the latest applied run for a window and roll it back when a trigger fires')
    .option('--window <duration>', 'how long to watch (default: guard_window of the policy)', durationOption)
    .addOption(durationFlag('--interval <duration>', 'sampling interval', 1000))
    .option('--no-auto-rollback', 'report a fired trigger but leave the changes in place')
    .option('--log <file>', 'server log to count timeout and too-many-connections messages in')
    .addHelpText('after', `
Compares the window with the baseline that apply captured (pg_stat_database failure rate,
pg_stat_statements mean time, connections against the limit, the policy's checks).
Exit 0 no trigger fired, 1 a trigger fired (rolled back unless --no-auto-rollback), 2 no applied run.`)
    .action(async (_o, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GuardFlags>();
      await runCommand(opts, async ({ ctx, client }) => {
        const run = (await stateSchemaExists(client)) ? await latestAppliedRun(client, ctx.target.database) : null;
        const baseline = run ? await loadBaseline<Baseline>(client, run.id) : null;
        if (!run || !baseline) throw new UsageError('no applied run with a baseline for this database: guard watches what `pgharden apply` changed');
        const windowMs = opts.window ?? ctx.policy.guard_window;
        ctx.log.info(`guarding run ${run.id} on ${ctx.target.database} for ${formatDuration(windowMs)}…`);
        const result: GuardResult = await guard(ctx, client, {
          windowMs, intervalMs: opts.interval, baseline: guardBaseline(baseline, null), logFile: opts.log,
        });
        let rolledBack: RollbackResult | null = null;
        if (result.fired.length && opts.autoRollback) rolledBack = await rollback(ctx, client, { runId: run.id, lockWaitMs: 60_000 });
        return { ok: result.passed, runId: run.id, guard: result, rollback: rolledBack };
      }, (r, { log }) => {
        for (const t of r.guard.triggers) log.info(`  ${t.fired ? 'FIRED' : t.measured ? 'ok   ' : 'n/a  '} ${t.trigger}: ${t.summary}`);
        if (r.rollback) log.info(r.rollback.message);
        else if (!r.ok) log.info(`trigger fired; changes left in place. Undo with: pgharden rollback --run ${r.runId}`);
        else log.info(`no trigger fired in ${formatDuration(r.guard.observedMs)}`);
      });
    });
}
