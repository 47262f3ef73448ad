import fs from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { UsageError } from '../../errors.js';
import { loadPolicy } from '../../policy/load.js';
import { prometheusRules, type MetricSource } from '../../monitor/prometheus-rules.js';
import { rulesFromPolicy } from '../../monitor/rules.js';
import { listAlerts } from '../../monitor/alert-store.js';
import { durationFlag } from '../options.js';
import { runCommand, runOffline, type GlobalOptions } from '../session.js';
import { table } from '../table.js';

export function register(program: Command): void {
  const alerts = program
    .command('alerts')
    .description("the policy's alert thresholds for other monitoring systems, and the alerts monitor --record kept");
  alerts
    .command('list')
    .description('alert transitions recorded in pgharden.alerts by `pgharden monitor --record`')
    .addOption(durationFlag('--since <duration>', 'how far back', 24 * 3_600_000)) // help shows 1d, not 86400000
    .action(async (_o, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions & { since: number }>();
      await runCommand(
        opts,
        async ({ ctx, client }) => {
          const since = new Date(Date.now() - opts.since).toISOString();
          return { ok: true, database: ctx.target.database, since, alerts: await listAlerts(client, ctx.target.database, since) };
        },
        (r, { log }) => {
          if (!r.alerts.length)
            return log.info(`no alerts recorded for ${r.database} since ${r.since} (record them with pgharden monitor --record)`);
          log.info(
            table(
              ['at', 'state', 'severity', 'rule', 'pid', 'message'],
              r.alerts.map((a) => [a.at, a.state, a.severity, a.rule, a.pid, a.message]),
            ),
          );
        },
      );
    });
  alerts
    .command('export')
    .description('write the alert rules for another system (no database needed)')
    .addOption(new Option('--format <format>', 'output format').choices(['prometheus-rules']).makeOptionMandatory())
    .addOption(
      new Option('--metrics <source>', 'which exporter the rules read').choices(['pgharden', 'postgres_exporter']).default('pgharden'),
    )
    // --out as on report and render; --output kept (hidden) for scripts written before.
    .option('-o, --out <file>', 'write to FILE instead of stdout')
    .addOption(new Option('--output <file>').hideHelp())
    .addHelpText(
      'after',
      `
--metrics pgharden (default): the series of \`pgharden monitor --prometheus\`, exact semantics
  (query time from query_start, idle time from state_change).
--metrics postgres_exporter: only postgres_exporter's series; it measures transaction age
  (xact_start), so these rules fire at least as early as the exact ones.
Check the file with: promtool check rules FILE`,
    )
    .action(async (_o, cmd: Command) => {
      const flags = cmd.optsWithGlobals<GlobalOptions & { format: string; metrics: MetricSource; out?: string; output?: string }>();
      const opts = { ...flags, output: flags.out ?? flags.output };
      // --json: one document with ok; the rules (YAML) are a string in it unless written to a file.
      await runOffline(
        opts,
        async () => {
          const text = prometheusRules(rulesFromPolicy((await loadPolicy(opts.policy)).alerts), opts.metrics);
          if (opts.output) {
            await fs.writeFile(opts.output, text).catch((err: Error) => {
              throw new UsageError(`cannot write ${opts.output}: ${err.message}`);
            });
          }
          const written: { output?: string; rules?: string } = opts.output ? { output: opts.output } : { rules: text };
          return { ok: true, format: opts.format, metrics: opts.metrics, ...written };
        },
        (r, { json }) => {
          if (r.output) process.stderr.write(`wrote ${r.output}\n`);
          else if (!json) process.stdout.write(r.rules ?? '');
        },
      );
    });
}
