import { Option, type Command } from 'commander';
import { UsageError } from '../../errors.js';
import { consoleLog } from '../../log.js';
import { withClient } from '../../pg/client.js';
import type { EmbeddedServer } from '../../pg/embedded.js';
import type { Target } from '../../pg/target.js';
import { formatDuration } from '../../policy/duration.js';
import { loadPolicy } from '../../policy/load.js';
import type { LogScanner } from '../../guard/log-scan.js';
import { nagiosCheck, NagiosCode, unknownLine, type NagiosStatus } from '../../monitor/nagios.js';
import { latestApplyTime } from '../../monitor/rollout.js';
import { RULE_NAMES, rulesFromPolicy, type AlertRule, type RuleName } from '../../monitor/rules.js';
import { ConnectionError } from '../../errors.js';
import { isConnectFailure } from '../../pg/client.js';
import { parseDuration, parsePercent } from '../../policy/duration.js';
import { sampleOnce, type Sample } from '../../monitor/sample.js';
import type { Client } from '../../pg/client.js';
import { poolerRollout } from '../../estate/poolers.js';
import { poolersOf } from '../../estate/targets.js';
import type { Sink } from '../../monitor/sinks/sink.js';
import { durationOption, positiveInt } from '../options.js';
import { chooseTarget, environmentRules, fail, type GlobalOptions } from '../session.js';

interface MonitorFlags extends GlobalOptions {
  interval: number;
  once?: boolean;
  jsonl?: string;
  prometheus?: string;
  webhook?: string;
  record?: boolean;
  recycleIdle?: boolean;
  recycleEvery: number;
  recycleMinIdle: number;
  top: number;
  duration?: number;
  plain?: boolean;
  reconnectMax: number;
  log?: string;
  refresh: number;
  rule?: RuleName;
  warning?: string;
  critical?: string;
  unreachable: 'unknown' | 'warning' | 'critical';
  allDatabases?: boolean;
  webConfig?: string;
}

export function register(program: Command): void {
  program
    .command('monitor')
    .description("watch the database against the policy's alert thresholds: live view, JSON lines, Prometheus, webhook, Nagios check")
    .addOption(durationFlag('--interval <duration>', 'time between polls', 1_000))
    .option('--once', 'take one sample, print a Nagios/check_postgres-style line and exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN')
    .addOption(new Option('--rule <name>', 'with --once: judge this rule only (one Nagios/Icinga service per rule)').choices(RULE_NAMES))
    .option('-w, --warning <threshold>', "with --once --rule: the warning threshold (25s, 80%), instead of the policy's")
    .option('-c, --critical <threshold>', "with --once --rule: the critical threshold, instead of the policy's")
    .addOption(
      new Option('--unreachable <status>', 'with --once: the status when the server cannot be reached')
        .choices(['unknown', 'warning', 'critical'])
        .default('unknown'),
    )
    .option('--jsonl <file|->', "append one JSON object per sample, alert transition and event to FILE ('-': stdout)")
    .option('--prometheus <[host:]port>', 'serve /metrics for Prometheus (host defaults to 127.0.0.1; GET and HEAD)')
    .option(
      '--all-databases',
      'every database of the server in each poll (one query, as postgres_exporter does), labelled by datname; the default is the --db database only',
    )
    .option(
      '--web-config <file>',
      'with --prometheus: TLS and basic auth for /metrics from a web config file (exporter-toolkit format: tls_server_config, basic_auth_users)',
    )
    .option('--webhook <url>', 'POST each alert transition as JSON (retried with backoff in the background)')
    .option('--record', "keep alert transitions in the database's pgharden.alerts table (created on first use)")
    .option('--recycle-idle', 'terminate sessions still on pre-apply settings, only while idle, one at a time')
    .addOption(durationFlag('--recycle-every <duration>', 'with --recycle-idle: at most one session per this interval', 2_000))
    .addOption(durationFlag('--recycle-min-idle <duration>', 'with --recycle-idle: only sessions idle at least this long', 1_000))
    .option('--top <n>', 'sessions listed in the live view', positiveInt, 15)
    .option('--duration <duration>', 'stop after this long (default: until q, Ctrl-C or SIGTERM)', durationOption)
    .option('--plain', 'plain lines even on a terminal')
    .option(
      '--log <file>',
      'server log (csvlog, jsonlog or stderr): count errors by SQLSTATE (57014, 25P03, 53300…) for /metrics and the JSON lines',
    )
    .addOption(durationFlag('--refresh <duration>', 'how often the apply time, settings and per-role compliance are re-read', 10_000))
    .addOption(durationFlag('--reconnect-max <duration>', 'longest wait between reconnect attempts', 5_000).hideHelp())
    .addHelpText(
      'after',
      `
Thresholds come from the policy's alerts: block (runbook: critical when a query runs over
25s, warning when a session is idle in transaction over 50s, info over 80% of the
connection limit). One cheap query per poll; durations on the server's clock.
Alerts fire once per session (pid + backend_start) or condition and resolve when it clears.

On a terminal: a live view. Keys: ↑/↓ select a session, c cancel its query, k terminate
it (both ask y to confirm; the monitor's own session is refused), b blocking tree (who waits
on whom, from pg_blocking_pids), s sort (duration, state, user), / filter (Enter applies,
Esc clears), space pause, a whole instance / this database, q or Ctrl-C quit.
Otherwise one line per sample and event.
--json is --jsonl - (with --once: one JSON document).
The monitor survives server restarts, terminated sessions (57P01) and network loss: it
says so and reconnects with backoff. Only the first connection must succeed (else exit 3).

To see other roles' query text, connect as a member of pg_monitor (or pg_read_all_stats);
--record needs CREATE on the database the first time (then INSERT on pgharden.alerts);
--recycle-idle needs pg_signal_backend (or superuser) and never touches active or
idle-in-transaction sessions, nor pgharden's own.

Exit codes: as every command (0 stopped normally, 2 bad usage or policy, 3 cannot connect),
EXCEPT with --once, which uses Nagios plugin codes: 0 OK, 1 WARNING, 2 CRITICAL,
3 UNKNOWN (any error, including a bad policy or no connection).

Examples:
  pgharden monitor --db postgres://monitor@db/codex_memory
  pgharden monitor --prometheus 9632 --webhook https://hooks.example/pg --plain
  pgharden monitor --once          # in cron, NRPE or an Icinga CheckCommand
  pgharden monitor --once --rule long_query -w 20s -c 25s --unreachable critical`,
    )
    .action(async (_o, cmd: Command) => {
      const opts = cmd.optsWithGlobals<MonitorFlags>();
      await (opts.once ? checkOnce(opts) : monitor(opts));
    });
}

/** The PgBouncer server connections still on the old settings, added to a sample's rollout. */
async function withPoolers(client: Client, sample: Sample, poolers: string[], database: string): Promise<Sample> {
  if (sample.rollout && poolers.length) sample.rollout.poolers = await poolerRollout(poolers, database, sample.rollout.appliedAt, client);
  return sample;
}

/** A duration flag whose default shows as `1s`, not `1000`. */
const durationFlag = (flags: string, description: string, ms: number) =>
  new Option(flags, description).argParser(durationOption).default(ms, formatDuration(ms));

/** Which server: --db / DATABASE_URL / PG* variables, or the embedded default (as every command). */
/** --once: Nagios semantics for every outcome, errors included (UNKNOWN, 3). */
async function checkOnce(opts: MonitorFlags): Promise<void> {
  let embedded: EmbeddedServer | null = null;
  try {
    const policy = await loadPolicy(opts.policy);
    const chosen = await chooseTarget(opts, policy, consoleLog(true));
    embedded = chosen.embedded;
    const { target } = chosen;
    const sample = await withClient(
      target,
      async (client) =>
        withPoolers(
          client,
          await sampleOnce(client, target.database, {
            appliedAt: await latestApplyTime(client, target.database, (note) => process.stderr.write(`pgharden: ${note}\n`)),
            scope: opts.allDatabases ? 'instance' : 'database',
          }),
          poolersOf({ policy, environment: opts.env !== undefined ? environmentRules(opts.env, policy) : undefined }),
          target.database,
        ),
      { appName: 'pgharden monitor --once', statementTimeoutMs: 10_000 },
    );
    const result = nagiosCheck(sample, onceRules(rulesFromPolicy(policy.alerts), opts));
    process.stdout.write(
      opts.json ? JSON.stringify({ ok: result.exitCode === NagiosCode.OK, ...result, sample }, null, 2) + '\n' : result.line + '\n',
    );
    process.exitCode = result.exitCode;
  } catch (err) {
    const message = (err as Error)?.message ?? String(err);
    // --unreachable: a down server may be CRITICAL for those who page on it; every other error stays UNKNOWN.
    const down = err instanceof ConnectionError || isConnectFailure(err);
    const status = (down ? opts.unreachable.toUpperCase() : 'UNKNOWN') as NagiosStatus;
    const line = unknownLine(message).replace(/^PGHARDEN UNKNOWN/, `PGHARDEN ${status}`);
    process.stdout.write(opts.json ? JSON.stringify({ ok: false, status, exitCode: NagiosCode[status], line }) + '\n' : line + '\n');
    process.exitCode = NagiosCode[status];
  } finally {
    await embedded?.stop().catch(() => undefined);
  }
}

/**
 * --rule keeps one rule; -w/-c replace its levels (a level not given keeps the policy's, so
 * `-w 20s` on the runbook's critical-at-25s rule checks both). Values in the rule's unit.
 */
export function onceRules(rules: AlertRule[], opts: Pick<MonitorFlags, 'rule' | 'warning' | 'critical'>): AlertRule[] {
  if ((opts.warning || opts.critical) && !opts.rule)
    throw new UsageError('-w/--warning and -c/--critical need --rule NAME: a threshold belongs to one rule');
  if (!opts.rule) return rules;
  const mine = rules.filter((r) => r.name === opts.rule);
  if (!mine.length) throw new UsageError(`--rule ${opts.rule}: the policy has no ${opts.rule} rule (add it under alerts:)`);
  const parse = (flag: string, text: string) => {
    const v = opts.rule === 'connections' ? parsePercent(text) : parseDuration(text);
    if (v === null)
      throw new UsageError(
        `${flag} ${JSON.stringify(text)}: expected ${opts.rule === 'connections' ? 'a percentage such as 80%' : 'a duration such as 25s'}`,
      );
    return v;
  };
  const given: AlertRule[] = [];
  if (opts.warning) given.push({ ...mine[0], severity: 'warning', over: parse('--warning', opts.warning) });
  if (opts.critical) given.push({ ...mine[0], severity: 'critical', over: parse('--critical', opts.critical) });
  const kept = mine.filter((r) => !given.some((g) => g.severity === r.severity));
  const all = [...given, ...kept];
  return all.map((r) => ({ ...r, leveled: all.length > 1 }));
}

async function buildSinks(
  opts: MonitorFlags,
  rules: AlertRule[],
  target: Target,
  contacts?: Record<string, string>,
): Promise<{ sinks: Sink[]; keys: ((data: string) => boolean) | null }> {
  const sinks: Sink[] = [];
  let keys: ((data: string) => boolean) | null = null;
  const jsonl = opts.jsonl ?? (opts.json ? '-' : undefined); // --json: the JSON lines on stdout
  try {
    // Each sink is imported only when asked for (prom-client alone is a noticeable part of a second).
    if (jsonl) sinks.push((await import('../../monitor/sinks/jsonl.js')).jsonlSink(jsonl));
    if (opts.webhook)
      sinks.push((await import('../../monitor/sinks/webhook.js')).webhookSink(opts.webhook, { source: target.display, contacts }));
    if (opts.record) sinks.push(await (await import('../../monitor/sinks/record.js')).recordSink(target));
    if (opts.prometheus) {
      const web = opts.webConfig
        ? { ...(await (await import('../../monitor/sinks/web-config.js')).loadWebConfig(opts.webConfig)), file: opts.webConfig }
        : null;
      const prom = await (await import('../../monitor/sinks/prometheus.js')).prometheusSink(opts.prometheus, rules, web);
      process.stderr.write(`pgharden monitor: serving ${prom.url}\n`);
      sinks.push(prom);
    }
    const stdoutTaken = jsonl === '-';
    if (!stdoutTaken && process.stdout.isTTY && !opts.plain) {
      const { liveViewSink } = await import('../../monitor/sinks/live-view.js');
      const view = liveViewSink({
        out: process.stdout,
        rules,
        target: target.display,
        intervalMs: opts.interval,
        top: opts.top,
        recycling: Boolean(opts.recycleIdle),
        scope: opts.allDatabases ? 'instance' : 'database',
      });
      keys = view.input;
      sinks.push(view);
    } else if (!stdoutTaken) {
      const { plainLinesSink } = await import('../../monitor/sinks/plain-lines.js');
      sinks.push(plainLinesSink((line) => process.stdout.write(line + '\n')));
    }
    return { sinks, keys };
  } catch (err) {
    await Promise.all(sinks.map((s) => s.close?.()));
    throw err;
  }
}

/** Stop on q / Ctrl-C at a terminal (the live view's keys), on SIGINT / SIGTERM, and after --duration. */
function stopSignal(opts: MonitorFlags, viewKeys: ((data: string) => boolean) | null): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const timer = opts.duration ? setTimeout(stop, opts.duration) : null;
  const keys = Boolean(viewKeys) && process.stdin.isTTY;
  const onKey = (data: Buffer) => {
    if (viewKeys?.(data.toString('utf8'))) stop();
  };
  if (keys) {
    process.stdin.setRawMode(true);
    process.stdin.on('data', onKey).resume();
  }
  return {
    signal: controller.signal,
    release() {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      if (timer) clearTimeout(timer);
      if (keys) {
        process.stdin.off('data', onKey).pause();
        process.stdin.setRawMode(false);
      }
    },
  };
}

async function monitor(opts: MonitorFlags): Promise<void> {
  const json = Boolean(opts.json);
  let embedded: EmbeddedServer | null = null;
  let sinks: Sink[] = [];
  let log_: LogScanner | null = null;
  try {
    if (opts.interval < 100) throw new UsageError('--interval must be at least 100ms');
    if (opts.webConfig && !opts.prometheus)
      throw new UsageError('--web-config configures the --prometheus endpoint: give --prometheus [HOST:]PORT too');
    const policy = await loadPolicy(opts.policy);
    const rules = rulesFromPolicy(policy.alerts);
    const log = consoleLog(true); // human notes on stderr: stdout belongs to the view or the JSON lines
    const chosen = await chooseTarget(opts, policy, log);
    embedded = chosen.embedded;
    const built = await buildSinks(opts, rules, chosen.target, policy.contacts as Record<string, string> | undefined);
    sinks = built.sinks;
    if (opts.log) log_ = await openLog(opts.log, chosen.target.database);
    const { signal, release } = stopSignal(opts, built.keys);
    try {
      const { runMonitor } = await import('../../monitor/monitor.js');
      await runMonitor({
        target: chosen.target,
        rules,
        intervalMs: opts.interval,
        sinks,
        signal,
        maxBackoffMs: opts.reconnectMax,
        // Only /metrics shows settings and compliance: without --prometheus the catalog is not read.
        policySettings: opts.prometheus ? policy.settings : undefined,
        log: log_,
        refreshMs: opts.refresh,
        poolers: poolersOf({ policy, environment: opts.env !== undefined ? environmentRules(opts.env, policy) : undefined }),
        recycle: opts.recycleIdle ? { everyMs: opts.recycleEvery, minIdleMs: opts.recycleMinIdle } : null,
        scope: opts.allDatabases ? 'instance' : 'database',
      });
    } finally {
      release();
    }
  } catch (err) {
    await Promise.all(sinks.map((s) => s.close?.()));
    sinks = [];
    fail(err, json);
  } finally {
    await Promise.all(sinks.map((s) => s.close?.()));
    await log_?.close();
    await embedded?.stop().catch(() => undefined);
  }
}

/** --log: a file we cannot read is bad usage, said before the monitor starts. */
async function openLog(file: string, database: string): Promise<LogScanner> {
  try {
    const { LogScanner } = await import('../../guard/log-scan.js');
    return await LogScanner.open(file, database);
  } catch (err) {
    throw new UsageError(`--log ${file}: cannot read it: ${(err as Error).message}`);
  }
}
