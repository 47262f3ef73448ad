import { InvalidArgumentError, type Command } from 'commander';
import { UsageError } from '../../errors.js';
import { dropBenchData } from '../../load/bench-data.js';
import { runPgbench } from '../../load/pgbench.js';
import { DEFAULT_SLOW_MS, DEFAULT_THINK_MS, runLoad, type LoadOptions, type LoadProgress, type LoadResult } from '../../load/run-load.js';
import { compareLoad, type LoadComparison } from '../../load/compare.js';
import { loadLoadResults, saveLoadResult } from '../../load/store.js';
import { WORKLOADS, type WorkloadName } from '../../load/workloads/types.js';
import type { Log } from '../../log.js';
import type { Client } from '../../pg/client.js';
import { RunDir, newRunId } from '../../state/run-dir.js';
import fs from 'node:fs/promises';
import { parseScriptArg, type ScriptSpec } from '../../load/script.js';
import { durationFlag, positiveInt } from '../options.js';
import { runCommand, type GlobalOptions } from '../session.js';
import { table } from '../table.js';

interface LoadtestFlags extends GlobalOptions {
  workload: WorkloadName;
  clients: number;
  duration: number;
  rate?: number;
  scale?: number;
  pipeline: number;
  threads?: number;
  slow?: number;
  think?: number;
  drop?: boolean;
  pgbench?: boolean;
  runId?: string;
  label?: string;
  compare?: string;
  script?: string[];
}

function workloadOption(value: string): WorkloadName {
  if (!(WORKLOADS as readonly string[]).includes(value))
    throw new InvalidArgumentError(`"${value}" is not a workload; allowed: ${WORKLOADS.join(', ')}`);
  return value as WorkloadName;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`"${value}" is not a positive number`);
  return n;
}

export function register(program: Command): void {
  program
    .command('loadtest')
    .description('load the database like pgbench, but count every error by SQLSTATE and keep going')
    .option(
      '--workload <name>',
      `select (pgbench -S), tpcb (pgbench's TPC-B-like) or app (reads, writes, thinking transactions, slow statements)`,
      workloadOption,
      'select',
    )
    .option(
      '--script <file[@weight]>',
      'your own pgbench-style script (\\set with random(), :var, \\sleep, SQL;): repeat for several, @weight to mix them',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--clients <n>', 'concurrent sessions', positiveInt, 8)
    .addOption(durationFlag('--duration <duration>', 'how long to run, e.g. 15s, 5m', 10_000))
    .option(
      '--rate <tps>',
      'open loop: Poisson arrivals at this many transactions per second (latency counts from the scheduled start)',
      positiveNumber,
    )
    .option('--scale <n>', "bench data size, as pgbench's scale (100,000 accounts each); default what is there, else 1", positiveInt)
    .option('--pipeline <n>', 'transactions in flight per session (select/tpcb; 1 = like pgbench)', positiveInt, 1)
    .option('--threads <n>', 'worker threads (default: one per CPU, at most one per client)', positiveInt)
    .addOption(
      durationFlag(
        '--slow <duration>',
        'app: duration of its slow statements (set it past statement_timeout to see 57014)',
        DEFAULT_SLOW_MS,
      ),
    )
    .addOption(
      durationFlag(
        '--think <duration>',
        'app: idle time inside its thinking transactions (past idle_in_transaction_session_timeout: 25P03)',
        DEFAULT_THINK_MS,
      ),
    )
    .option('--drop', 'remove the pgharden_bench tables after the run')
    .option('--pgbench', 'drive pgbench instead (select/tpcb), same clients/threads/duration, same result shape')
    .option('--run-id <id>', 'store the result in this run directory (e.g. the preflight run) instead of a new one')
    .option('--label <text>', 'name this result within the run, e.g. baseline or after-apply')
    .option('--compare <run-id[:label]>', 'compare with a stored result (same workload): throughput, latency and error-rate changes')
    .addHelpText(
      'after',
      `
Creates and fills its own tables in schema pgharden_bench (pgbench's layout) when missing.
--script FILE[@W] runs your own queries instead (no bench tables), a pgbench-compatible subset:
  \\set aid random(1, 100000 * :scale)       integers: + - * / % ( ) random abs least greatest
  \\sleep 5 ms                               a constant pause before the next command
  SELECT abalance FROM accounts WHERE aid = :aid;
:var becomes a bind parameter of a prepared statement (it must stand where a value goes);
built-ins :scale (--scale, default 1) and :client_id. Errors count by SQLSTATE per file:line.
Off a terminal, progress goes to stderr once a second as pgbench -P 1 prints it.
Sessions log in as an application does, so the database's and roles' settings apply: with
the hardening in place, slow statements fail with 57014 and idle transactions die with 25P03.
Every error is counted by SQLSTATE and by workload step; a terminated session reconnects.
Results: .pgharden/runs/<run-id>/loadtest[-<label>].json and table pgharden.loadtests.
Exit 0 when the run completed (errors are measurements, not failures), 2 bad usage, 3 cannot connect.`,
    )
    .action(async (_o, cmd: Command) => {
      const opts = cmd.optsWithGlobals<LoadtestFlags>();
      await runCommand(
        opts,
        async ({ ctx, client, log, json }) => {
          const scripts = opts.script ? await readScripts(opts.script) : undefined;
          const load: LoadOptions = {
            workload: scripts ? 'script' : opts.workload,
            clients: opts.clients,
            durationMs: opts.duration,
            rate: opts.rate,
            scale: opts.scale,
            pipeline: opts.pipeline,
            threads: opts.threads,
            slowMs: opts.slow,
            thinkMs: opts.think,
            scripts,
          };
          const baseline = opts.compare ? await storedResult(client, opts.compare, load.workload) : undefined;
          log.info(`loadtest ${ctx.target.display}: ${opts.pgbench ? 'pgbench ' : ''}${describe(load)}…`);
          // A terminal gets a readable line; a log or CI gets pgbench's -P 1 lines (machine-greppable).
          const progress = process.stderr.isTTY ? (json ? undefined : progressLine) : pgbenchProgressLine;
          const result = await (opts.pgbench ? runPgbench : runLoad)(ctx.target, load, progress);
          const runDir = new RunDir(opts.runId ?? newRunId(), ctx.runsRoot);
          const file = await saveLoadResult(client, runDir, result, opts.label);
          if (opts.drop) await dropBenchData(client);
          const comparison = baseline ? { with: opts.compare!, ...compareLoad(baseline, result) } : undefined;
          return { ok: true, runId: runDir.runId, file, dropped: Boolean(opts.drop), ...result, comparison };
        },
        (r, { log }) => {
          renderLoad(log, r, r.file, r.dropped);
          if (r.comparison) renderComparison(log, r.comparison);
        },
      );
    });
}

/** `run-id` or `run-id:label`: the latest stored result of that run (with that label). */
async function storedResult(client: Client, ref: string, workload: WorkloadName): Promise<LoadResult> {
  const [runId, label] = ref.split(':', 2);
  const found = (await loadLoadResults(client, runId)).filter((r) => label === undefined || r.label === label);
  if (!found.length)
    throw new UsageError(
      `--compare ${ref}: no stored loadtest result for run ${runId}${label ? ` labelled ${label}` : ''} in pgharden.loadtests`,
    );
  const stored = found[found.length - 1].result;
  if (stored.workload !== workload)
    throw new UsageError(
      `--compare ${ref}: that result is of workload ${stored.workload}, this run is ${workload}; compare like with like`,
    );
  return stored;
}

function renderComparison(log: Log, c: LoadComparison & { with: string }): void {
  const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
  const share = (x: number) => `${(x * 100).toFixed(2)}%`;
  log.info(
    `compared with ${c.with}: throughput ${pct(c.tpsChange)}, p95 ${pct(c.p95Change)}, p99 ${pct(c.p99Change)}; ` +
      `errors ${share(c.errorRate.before)} → ${share(c.errorRate.after)} of transactions (limit errors ${share(c.limitErrorRate.before)} → ${share(c.limitErrorRate.after)})`,
  );
}

function describe(o: LoadOptions): string {
  const loop = o.rate ? `open loop at ${o.rate} tps` : `closed loop${(o.pipeline ?? 1) > 1 ? `, pipeline ${o.pipeline}` : ''}`;
  const what = o.scripts ? `script ${o.scripts.map((s) => `${s.file}@${s.weight}`).join(' ')}` : `workload ${o.workload}`;
  return `${what}, ${o.clients} client(s), ${o.durationMs / 1000}s, ${loop}`;
}

/** --script FILE[@W]: read now, so a missing file is bad usage before anything connects. */
async function readScripts(args: string[]): Promise<ScriptSpec[]> {
  return Promise.all(
    args.map(async (arg) => {
      const { file, weight } = parseScriptArg(arg);
      const text = await fs.readFile(file, 'utf8').catch((err) => {
        throw new UsageError(`--script ${arg}: cannot read ${file}: ${(err as Error).message}`);
      });
      return { file, weight, text };
    }),
  );
}

/** `progress: 3.0 s, 27392.8 tps, lat 0.288 ms stddev 0.112, 0 failed`, as pgbench -P 1. */
function pgbenchProgressLine(p: LoadProgress): void {
  process.stderr.write(
    `progress: ${(p.elapsedMs / 1000).toFixed(1)} s, ${p.tps.toFixed(1)} tps, lat ${(p.latMs ?? 0).toFixed(3)} ms stddev ${(p.stddevMs ?? 0).toFixed(3)}, ${p.errors} failed\n`,
  );
}

function progressLine(p: LoadProgress): void {
  process.stderr.write(
    `  ${(p.elapsedMs / 1000).toFixed(0).padStart(4)}s  ${Math.round(p.tps).toLocaleString('en-US').padStart(8)} tps  ${p.transactions.toLocaleString('en-US')} transactions, ${p.errors} error(s)\n`,
  );
}

export function renderLoad(log: Log, r: LoadResult, file?: string, dropped?: boolean): void {
  const l = r.latency;
  const what = r.scripts ? r.scripts.map((s) => `${s.file}@${s.weight}`).join(' ') : `${r.workload} (scale ${r.scale})`;
  log.info(
    table(
      ['engine', 'workload', 'clients', 'threads', 'transactions', 'tps', 'avg', 'stddev', 'p50', 'p95', 'p99', 'max', 'client CPU/txn'],
      [
        [
          r.engine,
          what,
          r.clients,
          r.threads,
          r.transactions.toLocaleString('en-US'),
          Math.round(r.tps).toLocaleString('en-US'),
          `${l.meanMs}ms`,
          l.stddevMs === undefined ? '—' : `${l.stddevMs}ms`,
          `${l.p50Ms}ms`,
          `${l.p95Ms}ms`,
          `${l.p99Ms}ms`,
          `${l.maxMs}ms`,
          r.cpuUsPerTransaction === null ? '—' : `${r.cpuUsPerTransaction}µs`,
        ],
      ],
    ),
  );
  if (r.initialConnectionMs !== undefined && r.initialConnectionMs !== null)
    log.info(`initial connection time = ${r.initialConnectionMs} ms (mean per session)`);
  const codes = Object.entries(r.errors);
  if (!codes.length) log.info('errors: none');
  else {
    log.info(`errors: ${r.failedTransactions} failed transaction(s), ${r.reconnects} reconnect(s)`);
    log.info(
      table(
        ['SQLSTATE', 'count', 'first message'],
        codes.map(([code, n]) => [code, n, r.errorMessages[code] ?? '']),
      ),
    );
    log.info(
      table(
        ['step', 'errors by SQLSTATE'],
        Object.entries(r.errorsByStep).map(([step, byCode]) => [
          step,
          Object.entries(byCode)
            .map(([c, n]) => `${c} ×${n}`)
            .join(', '),
        ]),
      ),
    );
  }
  if (file) log.info(`saved: ${file} and pgharden.loadtests${dropped ? '; pgharden_bench tables dropped' : ''}`);
}
