import type { Command } from 'commander';
import { diagnose } from '../../monitor/diagnose.js';
import { elapsed } from '../../monitor/elapsed.js';
import { formatDuration } from '../../policy/duration.js';
import { runCommand, type GlobalOptions } from '../session.js';
import { paint, table } from '../table.js';

export function register(program: Command): void {
  program
    .command('diagnose')
    .description("the runbook's Troubleshooting Guide: queries near the timeout, connections against the limit, idle transactions")
    .addHelpText(
      'after',
      `
Each finding names the runbook's issue, what was measured, the sessions (pids, queries)
or pg_stat_statements entries involved, and the runbook's remedy. Nothing is changed.
A query running past the statement_timeout is not "near" it: it is listed under
"Sessions without the statement timeout" with the reason (started before the apply,
a role override named by its ALTER ROLE, or the session's own SET).
"Near" uses the runbook's margins: 2/3 of the statement_timeout new sessions get
(20s of 30s), 1/2 of idle_in_transaction_session_timeout (30s of 60s).
Exit 0 nothing found, 1 a problem was found, 3 cannot connect.`,
    )
    .action(async (_o, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions>();
      await runCommand(
        opts,
        ({ ctx, client }) => diagnose(ctx, client),
        (r, { log }) => {
          const t = r.timeouts;
          log.info(
            `database ${r.database}: statement_timeout ${t.statementTimeoutMs ? formatDuration(t.statementTimeoutMs) : 'off'}, ` +
              `idle_in_transaction_session_timeout ${t.idleInTransactionTimeoutMs ? formatDuration(t.idleInTransactionTimeoutMs) : 'off'} (for new sessions)`,
          );
          for (const f of r.findings) {
            log.info(`\n${f.problem ? paint.bad('PROBLEM') : paint.ok('ok')}  ${f.issue}`);
            log.info(`  ${f.summary}`);
            if (f.sessions.length) {
              log.info(
                table(
                  ['pid', 'user', 'application', 'state', 'for', 'query'],
                  f.sessions
                    .slice(0, 20)
                    .map((s) => [
                      s.pid,
                      s.usename,
                      s.applicationName,
                      s.state,
                      elapsed(s.durationMs),
                      s.query.replace(/\s+/g, ' ').slice(0, 80),
                    ]),
                ).replace(/^/gm, '  '),
              );
              for (const s of f.sessions) if (s.noLimit) log.info(`  pid ${s.pid} does not have the statement_timeout: ${s.noLimit}`);
            }
            if (f.statements?.length) {
              log.info(
                table(
                  ['queryid', 'calls', 'max', 'mean', 'statement'],
                  f.statements
                    .slice(0, 10)
                    .map((s) => [
                      s.queryid,
                      s.calls,
                      formatDuration(s.maxMs),
                      formatDuration(s.meanMs),
                      s.query.replace(/\s+/g, ' ').slice(0, 80),
                    ]),
                ).replace(/^/gm, '  '),
              );
            }
            if (f.problem) log.info(`  remedy: ${f.remedy}`);
          }
        },
      );
    });
}
