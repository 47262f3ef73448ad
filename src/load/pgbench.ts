import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { withClient } from '../pg/client.js';
import type { Target } from '../pg/target.js';
import { ensureBenchData } from './bench-data.js';
import { childrenCpuMs } from './child-cpu.js';
import { LatencyHistogram } from './histogram.js';
import type { LoadOptions, LoadProgress, LoadResult } from './run-load.js';
import { BENCH_SCHEMA } from './workloads/types.js';

const SCRIPTS = { select: ['-S'], tpcb: [] as string[] } as const;

/** pgbench's connection: the target's settings as libpq variables (the password never on a command line). */
function pgbenchEnv(target: Target): NodeJS.ProcessEnv {
  const c = target.config;
  // Appended, so the user's own options (URL `options`, PGOPTIONS) still apply, as in connect().
  const options = [c.options ?? process.env.PGOPTIONS, `-c search_path=${BENCH_SCHEMA}`].filter(Boolean).join(' ');
  const env: NodeJS.ProcessEnv = { ...process.env, PGDATABASE: target.database, PGOPTIONS: options };
  if (c.host) env.PGHOST = c.host;
  if (c.port) env.PGPORT = String(c.port);
  if (c.user) env.PGUSER = c.user;
  if (typeof c.password === 'string') env.PGPASSWORD = c.password;
  if (c.ssl && !env.PGSSLMODE) env.PGSSLMODE = 'require';
  return env;
}

/** Whether a `pgbench` binary is on PATH. */
export function pgbenchAvailable(): Promise<boolean> {
  return new Promise((resolve) => {
    const p = spawn('pgbench', ['--version'], { stdio: 'ignore' });
    p.on('error', () => resolve(false));
    p.on('exit', (code) => resolve(code === 0));
  });
}

/**
 * `pgharden loadtest --pgbench`: drive pgbench (-M prepared, same clients, threads and duration)
 * on our pgharden_bench tables, and read its report and per-transaction log into a LoadResult.
 * pgbench aborts a client on most errors, so its error counts are "aborted clients", not SQLSTATEs.
 */
export async function runPgbench(target: Target, opts: LoadOptions, onProgress?: (p: LoadProgress) => void): Promise<LoadResult> {
  if (opts.workload === 'app') throw new UsageError("--pgbench runs the select and tpcb workloads only (app is pgharden's own)");
  if ((opts.pipeline ?? 1) > 1) throw new UsageError('--pgbench does not take --pipeline');
  if (!(await pgbenchAvailable()))
    throw new UsageError('--pgbench: no pgbench on PATH (install the PostgreSQL client tools), or run without --pgbench');
  const { scale } = opts.scripts
    ? { scale: opts.scale ?? 1 }
    : await withClient(target, (c) => ensureBenchData(c, opts.scale), { appName: 'pgharden loadtest setup' });
  const threads = Math.max(1, Math.min(opts.threads ?? os.availableParallelism(), opts.clients));
  const seconds = Math.max(1, Math.ceil(opts.durationMs / 1000));
  const scripts = opts.scripts
    ? opts.scripts.flatMap((s) => ['-f', `${path.resolve(s.file)}@${s.weight}`])
    : [...SCRIPTS[opts.workload as 'select' | 'tpcb']];
  const args = [
    '-n',
    '-M',
    'prepared',
    ...scripts,
    '-c',
    String(opts.clients),
    '-j',
    String(threads),
    '-T',
    String(seconds),
    '-P',
    '1',
    '-l',
    '--log-prefix',
    'tx',
  ];
  if (opts.rate) args.push('--rate', String(opts.rate));
  if (opts.scripts) args.push('-s', String(scale)); // :scale of the scripts, as ours

  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgharden-pgbench-'));
  try {
    const startedAt = new Date().toISOString();
    const cpuBefore = childrenCpuMs();
    const { stdout, stderr, code } = await run(args, dir, pgbenchEnv(target), onProgress);
    const cpuAfter = childrenCpuMs();
    const processed = number(stdout, /number of transactions actually processed: (\d+)/);
    if (code !== 0 && processed === null)
      throw new UsageError(`pgbench failed (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' ')}`);
    const latency = await readLogs(dir);
    const aborted = [...stderr.matchAll(/client \d+ aborted in command (\d+)[^;]*; (.*)/g)];
    const errors: Record<string, number> = {};
    const errorsByStep: Record<string, Record<string, number>> = {};
    const errorMessages: Record<string, string> = {};
    for (const [, command, message] of aborted) {
      errors.aborted = (errors.aborted ?? 0) + 1;
      const step = `${opts.workload}.command_${command}`;
      errorsByStep[step] = { aborted: (errorsByStep[step]?.aborted ?? 0) + 1 };
      errorMessages.aborted ??= message.trim();
    }
    const transactions = processed ?? latency.count;
    const tps = number(stdout, /tps = ([\d.]+) \(without initial connection time\)/) ?? 0;
    const clientCpuMs = cpuBefore !== null && cpuAfter !== null ? cpuAfter - cpuBefore : null;
    const s = latency.summary();
    return {
      engine: 'pgbench',
      workload: opts.workload,
      clients: opts.clients,
      threads,
      pipeline: 1,
      scale,
      rate: opts.rate ?? null,
      durationMs: seconds * 1000,
      elapsedMs: seconds * 1000,
      transactions,
      failedTransactions: number(stdout, /number of failed transactions: (\d+)/) ?? 0,
      tps,
      latency: { p50Ms: s.p50Ms, p95Ms: s.p95Ms, p99Ms: s.p99Ms, maxMs: s.maxMs, meanMs: s.meanMs, stddevMs: s.stddevMs },
      initialConnectionMs: number(stdout, /initial connection time = ([\d.]+) ms/),
      ...(opts.scripts ? { scripts: opts.scripts.map(({ file, weight }) => ({ file, weight })) } : {}),
      errors,
      errorsByStep,
      errorMessages,
      reconnects: 0,
      clientCpuMs,
      cpuUsPerTransaction: clientCpuMs !== null && transactions ? Math.round(((clientCpuMs * 1000) / transactions) * 100) / 100 : null,
      startedAt,
    };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

function number(text: string, re: RegExp): number | null {
  const m = re.exec(text);
  return m ? Number(m[1]) : null;
}

function run(args: string[], cwd: string, env: NodeJS.ProcessEnv, onProgress?: (p: LoadProgress) => void) {
  return new Promise<{ stdout: string; stderr: string; code: number | null }>((resolve, reject) => {
    const child = spawn('pgbench', args, { cwd, env });
    let stdout = '';
    let stderr = '';
    let transactions = 0;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      // "progress: 3.0 s, 27392.8 tps, lat 0.288 ms stddev 0.112, 0 failed"
      for (const m of d.toString().matchAll(/progress: ([\d.]+) s, ([\d.]+) tps(?:, lat ([\d.]+) ms stddev ([\d.]+))?/g)) {
        transactions += Number(m[2]);
        onProgress?.({
          elapsedMs: Number(m[1]) * 1000,
          transactions: Math.round(transactions),
          tps: Number(m[2]),
          errors: 0,
          ...(m[3] ? { latMs: Number(m[3]), stddevMs: Number(m[4]) } : {}),
        });
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, stderr, code }));
  });
}

/** pgbench -l lines: `client_id transaction_no time_us script_no time_epoch time_us_part`; time is "failed"/"skipped" otherwise. */
async function readLogs(dir: string): Promise<LatencyHistogram> {
  const h = new LatencyHistogram();
  for (const file of await fs.readdir(dir)) {
    if (!file.startsWith('tx.')) continue;
    const text = await fs.readFile(path.join(dir, file), 'utf8');
    let at = 0;
    while (at < text.length) {
      const eol = text.indexOf('\n', at);
      const line = text.slice(at, eol < 0 ? text.length : eol);
      at = eol < 0 ? text.length : eol + 1;
      const us = Number(line.split(' ', 3)[2]);
      if (Number.isFinite(us)) h.record(us);
    }
  }
  return h;
}
