import type { Command } from 'commander';
import { apply } from '../../apply/apply.js';
import { durationFlag } from '../options.js';
import { consoleLog } from '../../log.js';
import { planData, type Plan } from '../../plan/plan.js';
import { confirm, shouldAsk } from '../confirm.js';
import { renderFindings, renderPlan } from '../render.js';
import { runCommand, type GlobalOptions } from '../session.js';
import { eventsOption, withEvents } from '../events.js';

export function register(program: Command): void {
  program
    .command('apply')
    .description('preflight, back up the prior values, then apply the policy (new sessions only)')
    .addOption(durationFlag('--lock-wait <duration>', 'how long to wait for another pgharden changing this database', 60_000))
    .addOption(durationFlag('--lock-timeout <duration>', 'lock_timeout for each ALTER DATABASE (retried with backoff)', 2_000))
    .option('--approved-by <name>', 'record who approved the change (the runbook wants DBA approval)')
    .option('--outside-window <reason>', "apply outside the --env environment's maintenance window; the reason is recorded")
    .addOption(eventsOption())
    .addHelpText(
      'after',
      `
Each change runs in its own short transaction, journaled in the pgharden schema, under an
advisory lock so two operators never apply at once. The prior values are committed
(pgharden.backups and .pgharden/runs/<run-id>/backup.json) before the first change.
On a terminal it shows the plan and asks first, unless --yes; scripts (no TTY) are not asked.
Settings apply to NEW sessions only: run \`pgharden verify\` next.
Exit 0 applied or nothing to do, 4 blocked (nothing changed), 2 bad policy, 3 cannot connect.`,
    )
    .action(async (_o, cmd: Command) => {
      const opts = cmd.optsWithGlobals<
        GlobalOptions & { lockWait: number; lockTimeout: number; approvedBy?: string; outsideWindow?: string; events?: string }
      >();
      const ask = shouldAsk(opts)
        ? async (plan: Plan) => {
            renderPlan(consoleLog(false), planData(plan));
            return confirm(`\napply ${plan.operations.length} change(s) to database ${plan.database}?`);
          }
        : undefined;
      await runCommand(
        opts,
        ({ ctx: outer, client }) =>
          withEvents('apply', outer, opts, async (ctx) => {
            const stage = (ok: boolean, ms: number, summary: string) =>
              ctx.events?.emit({ type: 'stage.finished', stage: 'apply', ok, ms: Math.round(ms), summary });
            ctx.events?.emit({ type: 'run.started', command: 'apply', database: ctx.target.database, policySource: ctx.policy.source });
            ctx.events?.emit({ type: 'stage.started', stage: 'apply', what: 'backup, then the changes' });
            const t = performance.now();
            try {
              const r = await apply(ctx, client, {
                lockWaitMs: opts.lockWait,
                lockTimeoutMs: opts.lockTimeout,
                approvedBy: opts.approvedBy,
                outsideWindow: opts.outsideWindow,
                confirm: ask,
              });
              stage(
                true,
                performance.now() - t,
                r.status === 'noop' ? 'already in the target state: nothing changed' : `${r.steps.length} change(s) applied`,
              );
              ctx.events?.emit({
                type: 'run.outcome',
                outcome: r.status,
                state: r.status,
                error: null,
                next: r.status === 'applied' ? 'pgharden verify' : null,
              });
              return r;
            } catch (err) {
              stage(false, performance.now() - t, (err as Error).message);
              ctx.events?.emit({ type: 'run.outcome', outcome: 'failed', state: null, error: (err as Error).message, next: null });
              throw err;
            }
          }),
        (r, { log }) => {
          if (r.status === 'noop') {
            log.info(
              `nothing to do: database ${r.plan.database} is already in the target state${r.runId ? ` (checked under the lock, run ${r.runId})` : ''}`,
            );
            return;
          }
          log.info(`applied to ${r.plan.database} (run ${r.runId}):`);
          for (const s of r.steps) log.info(`  ✔ ${s.sql}  ${Math.round(s.ms)}ms${s.attempts > 1 ? `, ${s.attempts} attempts` : ''}`);
          log.info(`backup: ${r.backupFile}`);
          renderFindings(log, r.plan.findings);
          log.info('\nnew sessions get the new values; existing sessions keep theirs until they reconnect. Next: pgharden verify');
        },
      );
    });
}
