import type { Command } from 'commander';
import { rollback } from '../../apply/rollback.js';
import { durationFlag } from '../options.js';
import { runCommand, type GlobalOptions } from '../session.js';

export function register(program: Command): void {
  program
    .command('rollback')
    .description('restore exactly the values captured before apply, and prove it')
    .option('--run <id>', 'the run to roll back (default: the latest applied run)')
    .addOption(durationFlag('--lock-wait <duration>', 'how long to wait for another pgharden changing this database', 60_000))
    .addHelpText('after', `
Values that were not set at database level before are RESET; values that were are set
back to exactly what they were; the connection limit goes back to its old value (-1
included). Then pg_db_role_setting and datconnlimit are compared with the backup.
Safe to run twice. Exit 0 restored (or nothing to do), 1 the check found a difference.`)
    .action(async (_o, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions & { run?: string; lockWait: number }>();
      await runCommand(opts, ({ ctx, client }) => rollback(ctx, client, { runId: opts.run, lockWaitMs: opts.lockWait }), (r, { log }) => {
        for (const s of r.steps) log.info(`  ✔ ${s.sql}`);
        log.info(r.message);
      });
    });
}
