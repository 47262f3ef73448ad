import { Option, type Command } from 'commander';
import { ExitCode, UsageError } from '../../errors.js';
import { writeReports } from '../../report/write.js';
import { runRunbook, type RunRecord } from '../../run/run.js';
import type { Client } from '../../pg/client.js';
import { latestRunCommand, stateSchemaExists } from '../../state/store.js';
import { describeState, RESUMABLE } from '../../run/state.js';
import { confirm } from '../confirm.js';
import { durationFlag, durationOption, positiveInt } from '../options.js';
import { loadSamplerFor } from '../../run/load-sample.js';
import type { WorkloadName } from '../../load/workloads/types.js';
import { runCommand, type GlobalOptions } from '../session.js';
import { eventsOption, withEvents } from '../events.js';

interface RunFlags extends GlobalOptions {
  approvedBy?: string;
  outsideWindow?: string;
  overLoad?: string;
  window?: number;
  interval: number;
  autoRollback: boolean;
  rehearseRollback?: boolean;
  load?: boolean;
  loadSample: number;
  loadWorkload: WorkloadName;
  loadClients: number;
  probes: boolean;
  log?: string;
  resume?: string | true;
  lockWait: number;
  events?: string;
}

const EXIT: Record<string, number> = {
  passed: ExitCode.ok,
  rolled_back: ExitCode.checkFailed,
  triggered: ExitCode.checkFailed,
  needs_attention: ExitCode.checkFailed,
  blocked: ExitCode.blocked,
  interrupted: ExitCode.interrupted,
};

/** DBA approval: recorded with --approved-by; otherwise asked on a terminal, and refused in scripts without --yes. */
async function checkApproval(opts: RunFlags): Promise<void> {
  if (opts.approvedBy || opts.yes || opts.resume) return;
  if (!process.stdin.isTTY || opts.json) {
    throw new UsageError(
      'no DBA approval recorded: pass --approved-by NAME (the runbook requires DBA approval), or --yes to run without recording one',
    );
  }
  if (!(await confirm('No DBA approval recorded (--approved-by). Run the migration anyway?')))
    throw new UsageError('cancelled: nothing was changed');
}

export function register(program: Command): void {
  program
    .command('run')
    .description('the whole runbook: preflight + baseline → backup → apply → verify → guard window → report, with automatic rollback')
    .option('--approved-by <name>', 'the DBA who approved the change (recorded in the run and the report)')
    .option('--outside-window <reason>', "run outside the --env environment's maintenance window; the reason is recorded")
    .option(
      '--over-load <reason>',
      'run although the load is over max_load: (not a low-traffic period); the reason and the measured load are recorded',
    )
    .option('--window <duration>', 'guard window (default: guard_window of the policy)', durationOption)
    .addOption(durationFlag('--interval <duration>', 'sampling interval in the guard window', 1000))
    .option('--no-auto-rollback', 'when a trigger fires, report it but leave the changes in place')
    .option('--rehearse-rollback', 'first apply and roll back on a scratch database on the same server, and prove the restore')
    .option('--load', 'take a load sample before the change and back to back in the window (latency and error triggers)')
    .addOption(durationFlag('--load-sample <duration>', 'length of one load sample', 5000))
    .addOption(
      new Option(
        '--load-workload <name>',
        'workload of the load samples (creates the pgharden_bench schema; `pgharden loadtest --drop` removes it)',
      )
        .choices(['app', 'select', 'tpcb'])
        .default('app'),
    )
    .option('--load-clients <n>', 'clients of the load samples', positiveInt, 4)
    .option('--no-probes', 'skip the functional probes after apply (they take about the longest timeout in the policy)')
    .option('--log <file>', 'server log to count timeout and too-many-connections messages in (stderr, csvlog or jsonlog)')
    .addOption(new Option('--resume [run-id]', 'continue an interrupted run (default: the latest)'))
    .addOption(durationFlag('--lock-wait <duration>', 'how long to wait for another pgharden changing this database', 60_000))
    .addOption(eventsOption())
    .addHelpText(
      'after',
      `
Rollback triggers (policy rollback_triggers:), measured against the baseline:
  timeout_errors_increase  failed-transaction rate up by more than the share, in points
  latency_degradation      p95 of the load sample (or pg_stat_statements mean time) up by more than the share
  pool_exhaustion          any 53300, or connections at >= 95% of the limit for 3 samples
  checks                   named SQL queries or shell commands that must keep succeeding
On a trigger the run rolls back by itself, verifies the restore and exits 1.
Before the first change (policy or --env environment): the maintenance window (window:,
--outside-window), staging first (requires:), a four-eyes approval (approval: required),
and the low-traffic period (max_load: peak active connections and transactions/s sampled
over max_load.sample, --over-load "reason" to go ahead anyway). Any refusal: exit 4, nothing changed.
After apply and rollback, each PgBouncer of poolers: gets RECONNECT <db>.
Reports (Markdown, HTML, JSON) and a notice for developers land in .pgharden/runs/<run-id>/.
Ctrl-C leaves a resumable run: \`pgharden run --resume\` or \`pgharden rollback\`.
Exit 0 passed, 1 rolled back (or a trigger fired), 4 blocked, 130 interrupted.`,
    )
    .action(async (_o, cmd: Command) => {
      const opts = cmd.optsWithGlobals<RunFlags>();
      await runCommand(
        opts,
        async ({ ctx: outer, client }) =>
          withEvents('run', outer, { events: opts.events, json: opts.json, checklist: true }, async (ctx) => {
            await checkApproval(opts);
            const abort = new AbortController();
            const onSignal = (signal: NodeJS.Signals) => {
              if (abort.signal.aborted) process.exit(ExitCode.interrupted);
              ctx.log.warn(
                `${signal}: stopping after the current step; the run stays resumable (${signal === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again to quit at once)`,
              );
              abort.abort();
            };
            process.on('SIGINT', onSignal);
            process.on('SIGTERM', onSignal);
            try {
              const resume = opts.resume === true ? await latestResumable(client, ctx.target.database) : opts.resume;
              const record = await runRunbook(ctx, client, {
                approvedBy: opts.approvedBy,
                outsideWindow: opts.outsideWindow,
                overLoad: opts.overLoad,
                windowMs: opts.window,
                intervalMs: opts.interval,
                autoRollback: opts.autoRollback,
                rehearse: Boolean(opts.rehearseRollback),
                logFile: opts.log,
                lockWaitMs: opts.lockWait,
                resume,
                signal: abort.signal,
                load: opts.load ? loadSamplerFor(ctx.target, opts.loadWorkload, opts.loadClients) : undefined,
                loadSampleMs: opts.loadSample,
                probes: opts.probes,
                json: Boolean(opts.json),
              });
              const reports = record.runId && record.outcome !== 'interrupted' ? await writeReports(record) : null;
              if (reports) ctx.events?.emit({ type: 'report.written', files: reports });
              return {
                ok: record.outcome === 'passed',
                exitCode: EXIT[record.outcome ?? 'interrupted'],
                runId: record.runId,
                outcome: record.outcome,
                reports,
                record,
              };
            } finally {
              process.off('SIGINT', onSignal);
              process.off('SIGTERM', onSignal);
            }
          }),
        (r, { log }) => summarise(r.record, r.reports, log),
      );
    });
}

/** The latest run, when its state allows resuming; otherwise say what it is and what to do. */
async function latestResumable(client: Client, database: string): Promise<string> {
  const run = (await stateSchemaExists(client)) ? await latestRunCommand(client, database) : null;
  if (!run) throw new UsageError('no run to resume for this database');
  if (!RESUMABLE.includes(run.status))
    throw new UsageError(`nothing to resume: the latest run ${run.id} is ${run.status} (${describeState(run.status)})`);
  return run.id;
}

function summarise(r: RunRecord, reports: Record<string, string> | null, log: { info(m: string): void }): void {
  const fired = r.guard?.fired ?? [];
  if (r.outcome === 'passed') {
    const unmeasured = r.guard?.notMeasured?.length ? ` Not measured (no evidence either way): ${r.guard.notMeasured.join(', ')}.` : '';
    log.info(`\nPASSED: run ${r.runId}: the hardening is in force and no rollback trigger fired.${unmeasured}`);
  }
  if (r.outcome === 'rolled_back') {
    const cause = fired.length
      ? fired.map((t) => `${t.trigger} fired — ${t.summary}`).join('; ')
      : (r.error ?? 'verify failed after apply');
    log.info(`\nROLLED BACK: run ${r.runId}: ${cause}.`);
    log.info(
      `the database was restored to the values captured before the change (${r.rollback?.check?.ok ? 'checked: exact' : 'check the differences above'}).`,
    );
  }
  if (r.outcome === 'triggered' && r.error)
    log.info(`\nTRIGGER FIRED: ${fired.map((t) => `${t.trigger} — ${t.summary}`).join('; ')}. ${r.error}.`);
  else if (r.outcome === 'triggered')
    log.info(
      `\nTRIGGER FIRED, changes left in place (--no-auto-rollback): ${fired.map((t) => `${t.trigger} — ${t.summary}`).join('; ')}. Undo with: pgharden rollback --run ${r.runId}`,
    );
  if (r.outcome === 'blocked') log.info('\nBLOCKED: nothing was changed (see the preflight line above).');
  if (r.outcome === 'interrupted')
    log.info(
      `\nINTERRUPTED: run ${r.runId} stopped; continue with \`pgharden run --resume ${r.runId}\` or undo with \`pgharden rollback --run ${r.runId}\`.`,
    );
  if (r.outcome === 'needs_attention') {
    log.info(`\nNEEDS ATTENTION: run ${r.runId} could not finish: ${r.error ?? 'see above'}.`);
    log.info(`its state is ${r.state ?? 'unknown'}; the changes may be in place. Next: ${r.next ?? `pgharden rollback --run ${r.runId}`}`);
  }

  if (reports)
    log.info(`reports: ${reports.md}\n         ${reports.html}\n         ${reports.json}\nnotice for developers: ${reports.notice}`);
}
