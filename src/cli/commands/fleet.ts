import os from 'node:os';
import type { Command } from 'commander';
import { ConnectionError, ExitCode, UsageError, BlockedError } from '../../errors.js';
import { ControlSession, ensureFleetSchema } from '../../fleet/control.js';
import { loadInventory, type Inventory } from '../../fleet/inventory.js';
import { inventoryJsonSchema } from '../../fleet/json-schema.js';
import { inventoryHash, planFleet } from '../../fleet/plan.js';
import { readFleetStatus, type FleetStatus } from '../../fleet/status.js';
import { getFleet, pauseFleet, startFleet, unpauseFleet, type FleetRow } from '../../fleet/store.js';
import { runWorker, workerId, type WorkerEnd } from '../../fleet/worker.js';
import { consoleLog, type Log } from '../../log.js';
import type { EmbeddedServer } from '../../pg/embedded.js';
import { fromUrl, type Target } from '../../pg/target.js';
import { loadPolicy } from '../../policy/load.js';
import type { Policy } from '../../policy/schema.js';
import { confirm } from '../confirm.js';
import { renderFleetStatus, targetLine } from '../fleet-render.js';
import { durationFlag, positiveInt } from '../options.js';
import { embeddedTarget, fail, type GlobalOptions } from '../session.js';

interface FleetFlags extends GlobalOptions {
  inventory?: string;
  control?: string;
  fleet?: string;
  approvedBy?: string;
  concurrency?: number;
  lease: number;
  targets?: boolean;
}

const EMBEDDED_CONTROL_DATABASE = 'pgharden_fleet';

/** Exit codes of the commands that work a rollout (README "Fleet rollouts"). */
const END_EXIT: Record<WorkerEnd, number> = {
  passed: ExitCode.ok,
  completed: ExitCode.checkFailed,
  stopped: ExitCode.checkFailed,
  paused: ExitCode.interrupted,
  interrupted: ExitCode.interrupted,
};

/** The control database: --control, else the embedded server when a person asked for it (as every command decides). */
async function controlTarget(opts: FleetFlags, log: Log): Promise<{ target: Target; embedded: EmbeddedServer | null }> {
  if (opts.db || opts.env)
    throw new UsageError(
      `fleet works on the inventory's targets; ${opts.db ? '--db' : '--env'} names nothing here (the control database is --control URL)`,
    );
  if (opts.control) {
    if (opts.embedded) throw new UsageError('--embedded and --control name two different control databases: give one');
    return { target: fromUrl(opts.control, '--control'), embedded: null };
  }
  const why = opts.embedded
    ? '--embedded'
    : process.env.PGHARDEN_EMBEDDED === '1'
      ? 'PGHARDEN_EMBEDDED=1'
      : process.stdin.isTTY && process.stderr.isTTY
        ? 'no --control (interactive terminal)'
        : null;
  if (!why) {
    throw new ConnectionError(
      'no control database named: give --control URL (a PostgreSQL database every worker can reach), or --embedded for one on this machine',
    );
  }
  const { server, target } = await embeddedTarget(log, EMBEDDED_CONTROL_DATABASE, `${why}: the fleet's control database`);
  return { target, embedded: server };
}

/** The frame of every fleet command: control session, one JSON document with --json, exit code, cleanup. */
async function fleetCommand<T extends { ok: boolean; exitCode?: number }>(
  opts: FleetFlags,
  body: (env: { control: ControlSession; log: Log; json: boolean }) => Promise<T>,
  render: (result: T, log: Log) => void,
): Promise<void> {
  const json = Boolean(opts.json);
  const log = consoleLog(json);
  let embedded: EmbeddedServer | null = null;
  let control: ControlSession | null = null;
  try {
    const chosen = await controlTarget(opts, log);
    embedded = chosen.embedded;
    control = new ControlSession(chosen.target, (err) => log.warn(`control database connection lost: ${err.message}`));
    const result = await body({ control, log, json });
    if (json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    render(result, log);
    process.exitCode = result.exitCode ?? (result.ok ? ExitCode.ok : ExitCode.checkFailed);
  } catch (err) {
    fail(err, json);
  } finally {
    await control?.close();
    await embedded?.stop().catch(() => undefined);
  }
}

/** --inventory, read and validated (exit 2 names every problem). */
async function inventoryOf(opts: FleetFlags): Promise<Inventory> {
  if (!opts.inventory) throw new UsageError('give --inventory FILE (the fleet.yaml naming the targets and waves)');
  const inv = await loadInventory(opts.inventory);
  if (opts.fleet && opts.fleet !== inv.name)
    throw new UsageError(`--fleet ${opts.fleet} and the inventory's name ${inv.name} differ: give one`);
  return inv;
}

/** The fleet a worker joins: by --fleet or the inventory's name; the inventory, when given, must be the planned one. */
async function joinFleet(control: ControlSession, opts: FleetFlags): Promise<FleetRow> {
  const inv = opts.inventory ? await inventoryOf(opts) : null;
  const id = inv?.name ?? opts.fleet;
  if (!id) throw new UsageError('give --inventory FILE or --fleet NAME');
  await control.run((c) => ensureFleetSchema(c));
  const fleet = await control.run((c) => getFleet(c, id));
  if (!fleet)
    throw new UsageError(`no fleet ${id} in the control database: plan it first (pgharden fleet plan --inventory FILE), or use fleet run`);
  if (inv && inventoryHash(inv, await loadPolicy(inv.policyPath)) !== fleet.inventoryHash) {
    throw new BlockedError(
      `fleet ${id} was planned from another inventory or policy than ${inv.source}: every worker must roll out the same plan (omit --inventory to work from the stored plan)`,
    );
  }
  return fleet;
}

/** DBA approval, as `run` asks for it: recorded with --approved-by, asked on a terminal, --yes in scripts. */
async function checkApproval(opts: FleetFlags): Promise<void> {
  if (opts.approvedBy || opts.yes) return;
  if (!process.stdin.isTTY || opts.json) {
    throw new UsageError(
      "no DBA approval recorded: pass --approved-by NAME (recorded in every target's run), or --yes to roll out without recording one",
    );
  }
  if (!(await confirm('No DBA approval recorded (--approved-by). Roll the fleet out anyway?')))
    throw new UsageError('cancelled: nothing was changed');
}

interface WorkResult {
  ok: boolean;
  exitCode: number;
  end: WorkerEnd;
  worker: string;
  recorded: Awaited<ReturnType<typeof runWorker>>['recorded'];
  status: FleetStatus;
}

/** Work the rollout until it finishes, stops or pauses (or a signal): the body of run, worker and resume. */
async function work(control: ControlSession, fleet: FleetRow, opts: FleetFlags, log: Log): Promise<WorkResult> {
  if (opts.lease < 1000)
    throw new UsageError(
      `--lease ${opts.lease}ms is too short: a claim must outlive a heartbeat's round trip (at least 1s; the default is 60s)`,
    );
  const worker = workerId();
  await control.run((c) => startFleet(c, fleet.id, worker));
  const inventory = fleet.inventory as { concurrency: number; probes: boolean; guard_window?: number; lock_wait: number };
  const policy = fleet.policy as Policy;
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (abort.signal.aborted) process.exit(ExitCode.interrupted);
    log.warn(
      `${signal}: stopping this worker; its runs stop resumable and its claims are given back (\`pgharden fleet resume\` continues)`,
    );
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const concurrency = opts.concurrency ?? inventory.concurrency;
  log.info(`fleet ${fleet.id}: worker ${worker}, ${concurrency} at once, lease ${opts.lease / 1000}s`);
  try {
    const result = await runWorker(
      control,
      {
        fleetId: fleet.id,
        concurrency,
        leaseMs: opts.lease,
        log,
        signal: abort.signal,
        settings: {
          policy,
          probes: inventory.probes,
          windowMs: inventory.guard_window ?? policy.guard_window,
          lockWaitMs: inventory.lock_wait,
          approvedBy: opts.approvedBy,
          log,
        },
        onTarget: (t, state, d) => log.info(targetLine(t.key, t.wave, state, d)),
      },
      worker,
    );
    const status = (await control.run((c) => readFleetStatus(c, fleet.id)))!;
    return {
      ok: result.end === 'passed',
      exitCode: END_EXIT[result.end],
      end: result.end,
      worker: result.worker,
      recorded: result.recorded,
      status,
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function renderWork(r: WorkResult, log: Log): void {
  log.info('');
  renderFleetStatus(log, r.status);
  const next: Record<WorkerEnd, string> = {
    passed: 'PASSED: every target is hardened, verified and passed its guard window.',
    completed: 'COMPLETED WITH FAILURES: the failed targets rolled back (above); the others passed.',
    stopped: 'STOPPED: a wave reached max_failures; its failed targets rolled back, the rest is untouched.',
    paused: 'PAUSED: `pgharden fleet resume` continues the rollout.',
    interrupted:
      'INTERRUPTED: `pgharden fleet resume` continues the rollout (claims left by a dead worker are taken once their lease expires).',
  };
  log.info(`\n${next[r.end]}`);
}

const EXIT_HELP = `
Exit codes: 0 every target passed · 1 a target failed (rolled back) or the fleet stopped
· 2 bad inventory (nothing changed) · 3 cannot reach the control database · 4 refused
(the fleet was planned from another inventory, or is stopped) · 130 paused or interrupted
(\`pgharden fleet resume\` continues).`;

export function register(program: Command): void {
  const fleet = program
    .command('fleet')
    .description(
      'roll the policy across many databases in waves (canary first), with workers sharing the rollout through a control database',
    );
  const common = (cmd: Command) =>
    cmd
      .option('--inventory <file>', 'the fleet inventory (fleet.yaml): policy, targets, discover, waves, concurrency, max_failures…')
      .option(
        '--control <url>',
        'the control database holding the plan, target states and claims (default with --embedded: the embedded server)',
      )
      .option('--fleet <name>', "the rollout's name in the control database (default: the inventory's name:, else its file name)");
  const working = (cmd: Command) =>
    common(cmd)
      .option('--approved-by <name>', "the DBA who approved the rollout (recorded in every target's run)")
      .option('--concurrency <n>', "targets this worker runs at once (default: the inventory's concurrency)", positiveInt)
      .addOption(durationFlag('--lease <duration>', 'how long a claim lives without a heartbeat before another worker may take it', 60_000))
      .addHelpText('after', EXIT_HELP);

  common(fleet.command('plan').description('resolve and discover the targets, cut them into waves, and store the plan (changes no target)'))
    .option('--targets', 'list every target with its wave')
    .addHelpText(
      'after',
      '\nExit 0 planned (or already planned from this inventory), 2 bad inventory, 3 cannot connect, 4 a started fleet of that name has another inventory.',
    )
    .action(async (_o, cmd: Command) => {
      const opts = cmd.optsWithGlobals<FleetFlags>();
      await fleetCommand(
        opts,
        async ({ control }) => {
          const inv = await inventoryOf(opts);
          const planned = await control.run((c) => planFleet(c, inv));
          const status = (await control.run((c) => readFleetStatus(c, inv.name)))!;
          return { ok: true, created: planned.created, status };
        },
        (r, log) => {
          log.info(
            r.created
              ? `planned fleet ${r.status.fleet}: ${r.status.total} target(s) in ${r.status.waves.length} wave(s)`
              : `fleet ${r.status.fleet} is already planned from this inventory`,
          );
          renderFleetStatus(log, r.status, { targets: opts.targets });
        },
      );
    });

  working(fleet.command('run').description('plan the fleet if needed, start it, and work on it until it finishes, stops or pauses')).action(
    async (_o, cmd: Command) => {
      const opts = cmd.optsWithGlobals<FleetFlags>();
      await fleetCommand<WorkResult>(
        opts,
        async ({ control, log }) => {
          const inv = await inventoryOf(opts);
          await checkApproval(opts);
          const { fleet, created } = await control.run((c) => planFleet(c, inv));
          if (!created) log.info(`fleet ${fleet.id}: continuing the rollout planned at ${new Date(fleet.createdAt).toISOString()}`);
          if (fleet.paused)
            throw new BlockedError(
              `fleet ${fleet.id} is paused${fleet.pausedBy ? ` (${fleet.pausedBy})` : ''}: \`pgharden fleet resume\` continues it`,
            );
          return work(control, fleet, opts, log);
        },
        renderWork,
      );
    },
  );

  working(
    fleet
      .command('worker')
      .description('join a planned rollout (from any machine) and work on it with the other workers until it finishes'),
  ).action(async (_o, cmd: Command) => {
    const opts = cmd.optsWithGlobals<FleetFlags>();
    await fleetCommand<WorkResult>(
      opts,
      async ({ control, log }) => {
        await checkApproval(opts);
        const fleet = await joinFleet(control, opts);
        return work(control, fleet, opts, log);
      },
      renderWork,
    );
  });

  working(fleet.command('resume').description('lift a pause, or continue a rollout whose workers were killed, and work on it')).action(
    async (_o, cmd: Command) => {
      const opts = cmd.optsWithGlobals<FleetFlags>();
      await fleetCommand<WorkResult>(
        opts,
        async ({ control, log }) => {
          await checkApproval(opts);
          const joined = await joinFleet(control, opts);
          const fleet = await control.run((c) => unpauseFleet(c, joined.id, workerIdentity()));
          return work(control, fleet, opts, log);
        },
        renderWork,
      );
    },
  );

  common(fleet.command('pause').description('workers finish the targets in hand and claim no more, until fleet resume'))
    .addHelpText('after', '\nExit 0 paused, 2 no such fleet, 4 the fleet already finished.')
    .action(async (_o, cmd: Command) => {
      const opts = cmd.optsWithGlobals<FleetFlags>();
      await fleetCommand(
        opts,
        async ({ control }) => {
          const joined = await joinFleet(control, opts);
          await control.run((c) => pauseFleet(c, joined.id, workerIdentity()));
          return { ok: true, status: (await control.run((c) => readFleetStatus(c, joined.id)))! };
        },
        (r, log) => {
          renderFleetStatus(log, r.status);
          log.info(
            `\npaused: workers finish the ${r.status.counts.running} target(s) in hand and claim no more; \`pgharden fleet resume\` continues`,
          );
        },
      );
    });

  common(fleet.command('status').description('waves, counts by state, failures with their reasons, and workers of a rollout'))
    .option('--targets', 'list every target')
    .addHelpText('after', '\nExit 0 no target failed (passed, or still going), 1 a target failed or the fleet stopped, 2 no such fleet.')
    .action(async (_o, cmd: Command) => {
      const opts = cmd.optsWithGlobals<FleetFlags>();
      await fleetCommand(
        opts,
        async ({ control }) => {
          const id = opts.inventory ? (await inventoryOf(opts)).name : opts.fleet;
          const status = await control.run((c) => readFleetStatus(c, id));
          if (!status) throw new UsageError(id ? `no fleet ${id} in the control database` : 'no fleet in the control database');
          return { ok: !status.failures.length && status.status !== 'stopped', ...status };
        },
        (r, log) => renderFleetStatus(log, r, { targets: opts.targets }),
      );
    });

  fleet
    .command('schema')
    .description('print the JSON Schema of a fleet inventory (committed as policies/fleet.schema.json)')
    .action(() => {
      process.stdout.write(JSON.stringify(inventoryJsonSchema(), null, 2) + '\n');
    });
}

/** Who paused or resumed: the OS user on this machine (journaled in the control database's events). */
function workerIdentity(): string {
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    /* no name for this uid */
  }
  return `${user}@${os.hostname()}`;
}
