import type { Command } from 'commander';
import { ExitCode } from '../../errors.js';
import { planData } from '../../plan/plan.js';
import { readPlan } from '../../preflight/preflight.js';
import { planHash, policyHash } from '../../estate/plan-hash.js';
import { renderPlan } from '../render.js';
import { runCommand, type GlobalOptions } from '../session.js';

export function register(program: Command): void {
  program
    .command('plan')
    .description('show what apply would change, the rollback SQL, and findings (changes nothing)')
    .addHelpText('after', '\nExit 0 when the plan can be applied, 4 when something is blocking, 2 for a bad policy.')
    .action(async (_opts, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions>();
      await runCommand(opts, async ({ ctx, client }) => {
        const { plan, state } = await readPlan(ctx, client);
        return {
          ok: !plan.blocked, exitCode: plan.blocked ? ExitCode.blocked : ExitCode.ok, runId: null, ...planData(plan),
          policyHash: policyHash(ctx.policy), planHash: planHash(ctx.policy, state, plan),
        };
      }, (result, { log }) => {
        log.info(`plan for database ${result.database}:`);
        renderPlan(log, result);
        log.info(`policy hash ${result.policyHash} · plan hash ${result.planHash} (what \`pgharden approve\` binds an approval to)`);
        if (result.blocked) log.info('\nblocked: apply would refuse this plan (exit 4).');
      });
    });
}
