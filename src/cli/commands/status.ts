import type { Command } from 'commander';
import { status } from '../../state/status.js';
import { rolloutText } from '../../estate/poolers.js';
import { runCommand, type GlobalOptions } from '../session.js';
import { table } from '../table.js';
import type { MigrationSetting } from '../../migrate/history.js';

/** `work_mem = 256MB (database)`, `statement_timeout RESET (role app in this database)`, `CONNECTION LIMIT 200`. */
function describeChange(c: MigrationSetting): string {
  if (c.name === 'connection_limit') return `CONNECTION LIMIT ${c.value}`;
  const where =
    c.scope === 'system'
      ? 'server, ALTER SYSTEM'
      : c.scope === 'database'
        ? 'database'
        : `role ${c.role ?? 'ALL'}${c.database ? ' in this database' : ', every database'}`;
  return `${c.name} ${c.action === 'reset' ? 'RESET' : `= ${c.value ?? 'FROM CURRENT'}`} (${where})`;
}

export function register(program: Command): void {
  program
    .command('status')
    .description('the database against the policy, the last runs, and sessions still on old settings')
    .addHelpText(
      'after',
      `
A check for cron and CI: exit 0 when the database is in the policy's target state, 1 when
it is not (each drifted setting named, and in --json under "drift"), 3 cannot connect,
5 the database refused a query, 70 internal error.`,
    )
    .action(async (_o, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions>();
      await runCommand(
        opts,
        ({ ctx, client }) => status(ctx, client),
        (r, { log }) => {
          log.info(`database ${r.database}: ${r.inTargetState ? 'in the target state' : 'NOT in the target state'}`);
          for (const d of r.drift) {
            log.info(
              `  drift: ${d.setting} is ${d.effective}, the policy wants ${d.target ?? 'no database-level value'}${d.setByMigration ? ` (set by migration ${d.setByMigration})` : ''}${d.action === 'blocked' ? ' (blocked: see pgharden plan)' : ''}`,
            );
          }
          if (!r.inTargetState && !r.drift.length) log.info('  the plan is blocked: see pgharden plan');
          log.info(
            table(
              ['setting', 'database value', 'target', 'action'],
              r.plan.rows.map((x) => [x.setting, x.databaseValue, x.target ?? 'RESET', x.action]),
            ),
          );
          log.info('');
          if (r.migrations.length) {
            log.info('settings changed by pgharden migrate (applied migrations):');
            log.info(
              table(
                ['migration', 'line', 'change', 'applied', 'by'],
                r.migrations.flatMap((m) =>
                  m.changes.map((c) => [m.migration, String(c.line), describeChange(c), m.appliedAt, m.appliedBy]),
                ),
              ),
            );
            log.info('');
          }
          if (r.runs.length) {
            log.info('last runs:');
            log.info(
              table(
                ['run', 'command', 'status', 'last step', 'operator', 'started', 'applied'],
                r.runs.map((x) => [
                  x.id,
                  x.command,
                  x.status,
                  x.lastStep,
                  x.operator,
                  new Date(x.startedAt).toISOString(),
                  x.appliedAt ? new Date(x.appliedAt).toISOString() : null,
                ]),
              ),
            );
          } else log.info('no runs recorded for this database yet');
          for (const u of r.unfinished) log.info(`\nrun ${u.runId} (${u.command}) did not finish: ${u.meaning}.\n  next: ${u.next}`);
          if (r.latestApply) {
            log.info(
              `\nrollout: ${r.sessionsOnOldSettings.length} of ${r.sessionsTotal} other session(s) started before the apply of ${r.latestApply.appliedAt} and still run on the old settings` +
                (r.sessionsOnOldSettings.length
                  ? ` (pids ${r.sessionsOnOldSettings
                      .slice(0, 10)
                      .map((s) => s.pid)
                      .join(', ')})`
                  : ''),
            );
            for (const p of r.poolers ?? []) log.info(`  ${rolloutText(p)}`);
          }
        },
      );
    });
}
