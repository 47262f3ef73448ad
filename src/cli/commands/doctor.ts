import type { Command } from 'commander';
import { ExitCode, UsageError } from '../../errors.js';
import { embeddedStatus } from '../../pg/embedded.js';
import { findLeftovers, type Leftover } from '../../state/leftovers.js';
import { confirm, shouldAsk } from '../confirm.js';
import { runCommand, type GlobalOptions } from '../session.js';
import { table } from '../table.js';

interface DoctorResult {
  ok: boolean;
  exitCode: number;
  leftovers: Leftover[];
  fixed: string[];
  embedded: ReturnType<typeof embeddedStatus> | null;
}

export function register(program: Command): void {
  program
    .command('doctor')
    .description(
      'list what pgharden left behind (probe roles, rehearsal databases, stray sessions, unfinished runs) with the command that removes each',
    )
    .option('--fix', 'remove the roles, databases and sessions listed (asks first on a terminal; needs --yes in scripts)')
    .addHelpText(
      'after',
      `
Every role, scratch database and session pgharden creates is removed by the command that made
it; one that could not be (a crash, a double Ctrl-C, a role still in use) is listed here with
the SQL that removes it. Unfinished runs are listed with the command that finishes them
(doctor never resolves a run itself). Exit 0 nothing left behind, 1 something listed.`,
    )
    .action(async (_o, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions & { fix?: boolean }>();
      await runCommand(
        opts,
        async ({ ctx, client }): Promise<DoctorResult> => {
          let leftovers = await findLeftovers(client, ctx.target.database);
          const fixed: string[] = [];
          const fixable = leftovers.filter((l) => l.fixable);
          if (opts.fix && fixable.length) {
            if (!opts.yes && !shouldAsk(opts)) throw new UsageError('doctor --fix changes the server: pass --yes to run it unattended');
            if (opts.yes || (await confirm(`remove ${fixable.length} leftover(s)?`))) {
              for (const l of fixable) {
                await client.query(l.fix);
                fixed.push(l.fix);
              }
              leftovers = await findLeftovers(client, ctx.target.database);
            }
          }
          const embedded = ctx.target.source === 'embedded' ? null : embeddedStatus();
          const stray = embedded?.running && !embedded.owners.length;
          return {
            ok: !leftovers.length && !stray,
            exitCode: leftovers.length || stray ? ExitCode.checkFailed : ExitCode.ok,
            leftovers,
            fixed,
            embedded,
          };
        },
        (r, { log }) => {
          for (const f of r.fixed) log.info(`  ✔ ${f}`);
          if (r.leftovers.length) {
            log.info(
              table(
                ['kind', 'name', 'what', 'remove with'],
                r.leftovers.map((l) => [l.kind, l.name, l.detail, l.fix]),
              ),
            );
          } else log.info('nothing left behind');
          if (r.embedded?.running && !r.embedded.owners.length) {
            log.info(`the embedded PostgreSQL in ${r.embedded.root} runs with no pgharden process using it: pgharden embedded stop`);
          }
        },
      );
    });
}
