import { Option, type Command } from 'commander';
import { UsageError } from '../../errors.js';
import { consoleLog } from '../../log.js';
import { withClient } from '../../pg/client.js';
import type { EmbeddedServer } from '../../pg/embedded.js';
import type { Target } from '../../pg/target.js';
import { formatDuration } from '../../policy/duration.js';
import { loadPolicy } from '../../policy/load.js';
import { nagiosCheck, NagiosCode, unknownLine } from '../../monitor/nagios.js';
import { latestApplyTime } from '../../monitor/rollout.js';
import { rulesFromPolicy, type AlertRule } from '../../monitor/rules.js';
import { sampleOnce } from '../../monitor/sample.js';
import type { Sink } from '../../monitor/sinks/sink.js';
import { durationOption, positiveInt } from '../options.js';
import { chooseTarget, fail, type GlobalOptions } from '../session.js';

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
}

export function register(program: Command): void {
  program
    .command('monitor')
    .description("watch the database against the policy's alert thresholds: live view, JSON lines, Prometheus, webhook, Nagios check")
    .addOption(durationFlag('--interval <duration>', 'time between polls', 1_000))
    .option('--once', 'take one sample, print a Nagios/check_postgres-style line and exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN')
    .option('--jsonl <file|->', "append one JSON object per sample, alert transition and event to FILE ('-': stdout)")
    .option('--prometheus <[host:]port>', 'serve /metrics for Prometheus (host defaults to 127.0.0.1)')
    .option('--webhook <url>', 'POST each alert transition as JSON (retried with backoff in the background)')
    .option('--record', "keep alert transitions in the database's pgharden.alerts table (created on first use)")
    .option('--recycle-idle', 'terminate sessions still on pre-apply settings, only while idle, one at a time')
    .addOption(durationFlag('--recycle-every <duration>', 'with --recycle-idle: at most one session per this interval', 2_000))
    .addOption(durationFlag('--recycle-min-idle <duration>', 'with --recycle-idle: only sessions idle at least this long', 1_000))
    .option('--top <n>', 'sessions listed in the live view', positiveInt, 15)
    .option('--duration <duration>', 'stop after this long (default: until q, Ctrl-C or SIGTERM)', durationOption)
    .option('--plain', 'plain lines even on a terminal')
    .addOption(durationFlag('--reconnect-max <duration>', 'longest wait between reconnect attempts', 5_000).hideHelp())
    .addHelpText('after', `
Thresholds come from the policy's alerts: block (runbook: critical when a query runs over
25s, warning when a session is idle in transaction over 50s, info over 80% of the
connection limit). One cheap query per poll; durations on the server's clock.
Alerts fire once per session (pid + backend_start) or condition and resolve when it clears.

On a terminal: a live view (q or Ctrl-C to quit). Otherwise one line per sample and event.
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
  pgharden monitor --prometheus 0.0.0.0:9187 --webhook https://hooks.example/pg --plain
  pgharden monitor --once          # in cron, NRPE or an Icinga CheckCommand`)
    .action(async (_o, cmd: Command) => {
      const opts = cmd.optsWithGlobals<MonitorFlags>();
      await (opts.once ? checkOnce(opts) : monitor(opts));
    });
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
    const sample = await withClient(target, async (client) =>
      sampleOnce(client, target.database, { appliedAt: await latestApplyTime(client, target.database, (note) => process.stderr.write(`pgharden: ${note}\n`)) }),
    { appName: 'pgharden monitor --once', statementTimeoutMs: 10_000 });
    const result = nagiosCheck(sample, rulesFromPolicy(policy.alerts));
    process.stdout.write(opts.json ? JSON.stringify({ ok: result.exitCode === NagiosCode.OK, ...result, sample }, null, 2) + '\n' : result.line + '\n');
    process.exitCode = result.exitCode;
  } catch (err) {
    const message = (err as Error)?.message ?? String(err);
    process.stdout.write(opts.json ? JSON.stringify({ ok: false, status: 'UNKNOWN', exitCode: NagiosCode.UNKNOWN, line: unknownLine(message) }) + '\n' : unknownLine(message) + '\n');
    process.exitCode = NagiosCode.UNKNOWN;
  } finally {
    await embedded?.stop().catch(() => undefined);
  }
}

async function buildSinks(opts: MonitorFlags, rules: AlertRule[], target: Target, contacts?: Record<string, string>): Promise<Sink[]> {
  const sinks: Sink[] = [];
  const jsonl = opts.jsonl ?? (opts.json ? '-' : undefined); // --json: the JSON lines on stdout
  try {
    // Each sink is imported only when asked for (prom-client alone is a noticeable part of a second).
    if (jsonl) sinks.push((await import('../../monitor/sinks/jsonl.js')).jsonlSink(jsonl));
    if (opts.webhook) sinks.push((await import('../../monitor/sinks/webhook.js')).webhookSink(opts.webhook, { source: target.display, contacts }));
    if (opts.record) sinks.push(await (await import('../../monitor/sinks/record.js')).recordSink(target));
    if (opts.prometheus) {
      const prom = await (await import('../../monitor/sinks/prometheus.js')).prometheusSink(opts.prometheus, rules);
      process.stderr.write(`pgharden monitor: serving ${prom.url}\n`);
      sinks.push(prom);
    }
    const stdoutTaken = jsonl === '-';
    if (!stdoutTaken && process.stdout.isTTY && !opts.plain) {
      const { liveViewSink } = await import('../../monitor/sinks/live-view.js');
      sinks.push(liveViewSink({ out: process.stdout, rules, target: target.display, intervalMs: opts.interval, top: opts.top, recycling: Boolean(opts.recycleIdle) }));
    } else if (!stdoutTaken) {
      const { plainLinesSink } = await import('../../monitor/sinks/plain-lines.js');
      sinks.push(plainLinesSink((line) => process.stdout.write(line + '\n')));
    }
    return sinks;
  } catch (err) {
    await Promise.all(sinks.map((s) => s.close?.()));
    throw err;
  }
}

/** Stop on q / Ctrl-C at a terminal, on SIGINT / SIGTERM, and after --duration. */
function stopSignal(opts: MonitorFlags): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const timer = opts.duration ? setTimeout(stop, opts.duration) : null;
  const keys = process.stdin.isTTY && process.stdout.isTTY && !opts.plain;
  const onKey = (data: Buffer) => {
    if (data.includes(0x71 /* q */) || data.includes(0x03 /* Ctrl-C in raw mode */)) stop();
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
  try {
    if (opts.interval < 100) throw new UsageError('--interval must be at least 100ms');
    const policy = await loadPolicy(opts.policy);
    const rules = rulesFromPolicy(policy.alerts);
    const log = consoleLog(true); // human notes on stderr: stdout belongs to the view or the JSON lines
    const chosen = await chooseTarget(opts, policy, log);
    embedded = chosen.embedded;
    sinks = await buildSinks(opts, rules, chosen.target, policy.contacts as Record<string, string> | undefined);
    const { signal, release } = stopSignal(opts);
    try {
      const { runMonitor } = await import('../../monitor/monitor.js');
      await runMonitor({
        target: chosen.target, rules, intervalMs: opts.interval, sinks, signal, maxBackoffMs: opts.reconnectMax,
        recycle: opts.recycleIdle ? { everyMs: opts.recycleEvery, minIdleMs: opts.recycleMinIdle } : null,
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
    await embedded?.stop().catch(() => undefined);
  }
}
