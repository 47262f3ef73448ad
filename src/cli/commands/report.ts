import fs from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { UsageError } from '../../errors.js';
import { renderReport, type ReportFormat } from '../../report/write.js';
import { refreshRunReports } from '../../report/refresh.js';
import { latestRunWithResult, stateSchemaExists } from '../../state/store.js';
import { runCommand, type GlobalOptions } from '../session.js';

export function register(program: Command): void {
  program
    .command('report')
    .description('the report of a run: success criteria ticked by measurements, before/after, timeline')
    .option('--run <id>', 'the run (default: the latest `pgharden run`)')
    .addOption(
      new Option('--format <format>', 'md for the change ticket, html with charts, json for CI')
        .choices(['md', 'html', 'json'])
        .default('md'),
    )
    .option('-o, --out <file>', 'write to a file instead of stdout')
    .action(async (_o, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions & { run?: string; format: ReportFormat; out?: string }>();
      // --json: one document with ok, the run id and the report (as --format json gives it) on stdout.
      const json = Boolean(opts.json);
      await runCommand(
        { ...opts, json },
        async ({ ctx, client }) => {
          if (!(await stateSchemaExists(client))) throw new UsageError('no runs recorded in this database yet');
          const id = opts.run ?? (await latestRunWithResult(client, ctx.target.database));
          const record = id ? await refreshRunReports(client, id, ctx.runsRoot) : null;
          if (!record)
            throw new UsageError(
              opts.run
                ? `run ${opts.run} has no report (only \`pgharden run\` writes one)`
                : 'no `pgharden run` recorded for this database yet',
            );
          const format = json ? 'json' : opts.format;
          const text = renderReport(record, format);
          if (opts.out) await fs.writeFile(opts.out, text);
          if (json) return { ok: true, runId: record.runId, out: opts.out ?? null, report: JSON.parse(text) as unknown, text: '' };
          return { ok: true, runId: record.runId, text, out: opts.out ?? null };
        },
        (r, { log }) => (r.out ? log.info(`wrote ${r.out}`) : json ? undefined : process.stdout.write(r.text)),
      );
    });
}
