import type { Command } from 'commander';
import { verify } from '../../verify/verify.js';
import { renderChecks } from '../render.js';
import { runCommand, type GlobalOptions } from '../session.js';

export function register(program: Command): void {
  program
    .command('verify')
    .description('prove the policy is in force for new sessions, for every login role')
    .addHelpText('after', `
Reads the values on a fresh session of the connecting role (not a SET in our own session),
and computes, for every login role allowed to connect, the value its new sessions get
from pg_db_role_setting (role in database > role > database > server). A role whose own
setting defeats the policy fails the check, named, with the SQL that fixes it.
Exit 0 all checks pass, 1 a check failed.`)
    .action(async (_o, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions>();
      await runCommand(opts, ({ ctx, client }) => verify(ctx, client), (r, { log }) => {
        log.info(`verify ${r.database}: fresh session as ${r.liveRole}, ${r.loginRoles} login role(s) may connect`);
        renderChecks(log, r.checks);
        log.info(r.ok ? 'verified: the policy is in force for new sessions' : `FAILED: ${r.checks.filter((c) => !c.ok).length} check(s) failed`);
      });
    });
}
