import type { Command } from 'commander';
import { rollbackWithEvents } from '../../apply/rollback-events.js';
import { refreshRunReports } from '../../report/refresh.js';
import { durationFlag } from '../options.js';
import { runCommand, type GlobalOptions } from '../session.js';
import { eventsOption, withEvents } from '../events.js';

export function register(program: Command): void {
  program
    .command('rollback')
    .description('restore exactly the values captured before apply, and prove it')
    .option('--run <id>', 'the run to roll back (default: the latest run whose changes are in place)')
    .option('--force', 'also overwrite values changed by someone since the run, and roll back out of order')
    .addOption(durationFlag('--lock-wait <duration>', 'how long to wait for another pgharden changing this database', 60_000))
    .addOption(eventsOption())
    .addHelpText(
      'after',
      `
A three-way merge, value by value, of what the run changed: before (the backup), applied
(what the run set) and now. Where the value is still what the run set, it goes back to
exactly what it was (RESET when it was not set; the old connection limit, -1 included).
Values someone changed since the run are NOT overwritten: rollback refuses, naming each
one with its three values, unless --force. Values the run did not touch are never read or
changed. Runs are rolled back newest first (an older run under a newer one is refused).
Afterwards every value the run changed is compared with the backup. Safe to run twice.
Exit 0 restored (or nothing to do), 1 refused or the check found a difference (nothing
changed when refused), 5 the database refused a statement (the others are restored; the
run is left 'needs_attention' and the message says what to fix).`,
    )
    .action(async (_o, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions & { run?: string; lockWait: number; force?: boolean; events?: string }>();
      await runCommand(
        opts,
        async ({ ctx: outer, client }) =>
          withEvents('rollback', outer, opts, async (ctx) => {
            const result = await rollbackWithEvents(ctx, client, { runId: opts.run, lockWaitMs: opts.lockWait, force: opts.force });
            // The run's report now says it was rolled back, not that the hardening is in force.
            if (result.runId) await refreshRunReports(client, result.runId, ctx.runsRoot);
            return result;
          }),
        (r, { log }) => {
          for (const s of r.steps) log.info(`  ✔ ${s.sql}`);
          log.info(r.message);
        },
      );
    });
}
