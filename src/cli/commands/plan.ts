import type { Command } from 'commander';
import { ExitCode } from '../../errors.js';
import { planData } from '../../plan/plan.js';
import { readPlan } from '../../plan/read-plan.js';
import { planHash, policyHash } from '../../estate/plan-hash.js';
import { renderPlan } from '../render.js';
import { runCommand, type GlobalOptions } from '../session.js';

interface PlanFlags extends GlobalOptions {
  detailedExitcode?: boolean;
}

/** `terraform plan -detailed-exitcode`: 2 means "succeeded, with changes". */
const DETAILED_CHANGES_PENDING = 2;

export function register(program: Command): void {
  program
    .command('plan')
    .description('show what apply would change, the rollback SQL, and findings (changes nothing)')
    .option('--detailed-exitcode', "exit 0 nothing to change, 2 changes pending, 4 blocked (Terraform's convention, for CI)")
    .addHelpText(
      'after',
      `
Exit 0 when the plan can be applied, 4 when something is blocking, 2 for a bad policy,
3 cannot connect, 5 the database refused a query, 70 internal error.
With --detailed-exitcode: 0 nothing to change, 2 changes pending, 4 blocked
(a bad policy is still 2: check stderr, or --json's "changesPending").`,
    )
    .action(async (_opts, cmd: Command) => {
      const opts = cmd.optsWithGlobals<PlanFlags>();
      await runCommand(
        opts,
        async ({ ctx, client }) => {
          const { plan, state } = await readPlan(ctx, client);
          const data = planData(plan);
          const changesPending = data.operations.length > 0;
          const exitCode = plan.blocked
            ? ExitCode.blocked
            : opts.detailedExitcode && changesPending
              ? DETAILED_CHANGES_PENDING
              : ExitCode.ok;
          return {
            ok: !plan.blocked,
            exitCode,
            runId: null,
            changesPending,
            ...data,
            policyHash: policyHash(ctx.policy),
            planHash: planHash(ctx.policy, state, plan),
          };
        },
        (result, { log }) => {
          log.info(`plan for database ${result.database}:`);
          renderPlan(log, result);
          log.info(`policy hash ${result.policyHash} · plan hash ${result.planHash} (what \`pgharden approve\` binds an approval to)`);
          if (result.blocked) log.info('\nblocked: apply would refuse this plan (exit 4).');
        },
      );
    });
}
