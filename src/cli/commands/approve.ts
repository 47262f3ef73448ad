import type { Command } from 'commander';
import { ExitCode } from '../../errors.js';
import { blockedError } from '../../apply/apply.js';
import { recordApproval } from '../../estate/approval.js';
import { planData } from '../../plan/plan.js';
import { readPlan } from '../../plan/read-plan.js';
import { renderPlan } from '../render.js';
import { runCommand, type GlobalOptions } from '../session.js';

export function register(program: Command): void {
  program
    .command('approve')
    .description('show the plan and record an approval of exactly it (four eyes for environments with approval: required)')
    .option('--name <name>', 'your name, recorded beside the database login that approves')
    .addHelpText(
      'after',
      `
The approval is stored in the target's pgharden schema, bound to the plan hash: the policy,
the current values the plan was computed from, and its forward SQL. apply/run in an
environment with approval: required accept it only when a different database login applies
the identical plan. Any change to the database or the policy needs a new approval.
Exit 0 recorded (or nothing to approve), 4 the plan is blocked, 2 bad policy, 3 cannot connect.`,
    )
    .action(async (_o, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions & { name?: string }>();
      await runCommand(
        opts,
        async ({ ctx, client }) => {
          const { plan, state } = await readPlan(ctx, client);
          if (plan.blocked) throw blockedError(plan);
          const data = planData(plan);
          if (!plan.operations.length) return { ok: true, exitCode: ExitCode.ok, approval: null, plan: data };
          const approval = await recordApproval(client, ctx.policy, state, plan, opts.name);
          return { ok: true, exitCode: ExitCode.ok, approval, plan: data };
        },
        (r, { log }) => {
          log.info(`plan for database ${r.plan.database}:`);
          renderPlan(log, r.plan);
          if (!r.approval) {
            log.info('nothing to approve: the database is already in the target state');
            return;
          }
          log.info(
            `approved as ${r.approval.approvedBy}${r.approval.name ? ` (${r.approval.name})` : ''}: approval #${r.approval.id} of plan ${r.approval.planHash}`,
          );
          log.info(`it counts for apply/run by a different database login, as long as the database and the policy stay as they are now`);
        },
      );
    });
}
