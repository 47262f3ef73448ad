import type { Command } from 'commander';
import { ExitCode } from '../../errors.js';
import { planData } from '../../plan/plan.js';
import { preflight } from '../../preflight/preflight.js';
import { renderFindings } from '../render.js';
import { runCommand, type GlobalOptions } from '../session.js';
import { table } from '../table.js';

export function register(program: Command): void {
  program
    .command('preflight')
    .description('check privileges, headroom and workload against the policy, and capture the baseline')
    .addHelpText(
      'after',
      `
The baseline (all of pg_settings with sources, pg_file_settings, pg_db_role_setting,
connections by state, pg_stat_database, top pg_stat_statements, a latency probe) is
stored in the pgharden schema and in .pgharden/runs/<run-id>/baseline.json.
Exit 0 when apply may proceed, 4 when something is blocking.`,
    )
    .action(async (_opts, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions>();
      await runCommand(
        opts,
        async ({ ctx, client }) => {
          const pre = await preflight(ctx, client);
          return {
            ok: !pre.blocked,
            exitCode: pre.blocked ? ExitCode.blocked : ExitCode.ok,
            runId: pre.runId,
            runDir: pre.runDir,
            findings: pre.findings,
            plan: planData(pre.plan),
            baseline: pre.baseline,
          };
        },
        (r, { log }) => {
          const b = r.baseline;
          log.info(`baseline of ${b.database.name} on PostgreSQL ${b.server.version} (run ${r.runId})`);
          log.info(
            table(
              ['what', 'value'],
              [
                [
                  'settings captured',
                  `${b.settings.length} (pg_file_settings: ${b.fileSettings ? `${b.fileSettings.length} rows` : 'not readable by this role'})`,
                ],
                ['database-level values', b.dbRoleSettings.dbSettings.map((s) => `${s.name}=${s.value}`).join(', ') || 'none'],
                ['role-level values', String(b.dbRoleSettings.roleSettings.length)],
                [
                  'connection limit',
                  `${b.database.connLimit} (max_connections ${b.server.maxConnections}, ${b.server.reservedConnections} reserved)`,
                ],
                [
                  'connections by state',
                  Object.entries(b.connectionsByState)
                    .map(([k, v]) => `${k} ${v}`)
                    .join(', ') || 'none besides ours',
                ],
                ['transactions', `${b.statDatabase.xact_commit ?? '?'} committed, ${b.statDatabase.xact_rollback ?? '?'} rolled back`],
                ['pg_stat_statements', b.statements ? `${b.statements.length} top statements` : 'not installed here'],
                ['latency probe (SELECT 1)', `p50 ${b.latency.p50Ms}ms, p95 ${b.latency.p95Ms}ms over ${b.latency.samples} runs`],
              ],
            ),
          );
          log.info(`saved: pgharden.baselines and ${r.runDir}/baseline.json\n`);
          renderFindings(log, r.findings);
          if (!r.ok) log.info('\nblocked: apply would refuse (exit 4).');
        },
      );
    });
}
