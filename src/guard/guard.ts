import type { Client } from '../pg/client.js';
import type { Baseline } from '../preflight/baseline.js';
import type { StageContext } from '../stage.js';
import { AlertEngine } from '../monitor/engine.js';
import { rulesFromPolicy } from '../monitor/rules.js';
import { sampleOnce } from '../monitor/sample.js';
import { failureRate, readCounters, type Counters } from './counters.js';
import { runChecks } from './checks.js';
import { LogScanner } from './log-scan.js';
import { evaluateTriggers, type GuardBaseline, type LoadSample, type TriggerResult, type WindowObservation } from './triggers.js';

export interface GuardSample {
  at: string;
  elapsedMs: number;
  connections: number;
  connectionLimit: number;
}

export interface GuardOptions {
  windowMs: number;
  intervalMs?: number;
  /** How often the policy's user checks run (they open sessions or processes: less often than sampling). */
  checkIntervalMs?: number;
  baseline: GuardBaseline;
  /** Back-to-back load samples through the window (with --load). */
  load?: (durationMs: number) => Promise<LoadSample>;
  loadSampleMs?: number;
  logFile?: string;
  onSample?: (sample: GuardSample, triggers: TriggerResult[]) => void;
  /** Aborted on SIGINT: the guard stops and reports itself interrupted. */
  signal?: AbortSignal;
}

export interface GuardResult {
  /** The window ran to its end without a trigger. */
  passed: boolean;
  interrupted: boolean;
  fired: TriggerResult[];
  triggers: TriggerResult[];
  windowMs: number;
  observedMs: number;
  samples: GuardSample[];
  loads: LoadSample[];
  /** Alert transitions of the policy's alert rules during the window (the monitor's engine). */
  alerts: { at: string; elapsedMs: number; state: 'firing' | 'resolved'; rule: string; severity: string; message: string }[];
}

/** What "normal" was, from the baseline preflight captured (and its load sample, if any). */
export function guardBaseline(baseline: Baseline, load: LoadSample | null): GuardBaseline {
  const s = baseline.statDatabase as Record<string, number | undefined>;
  // The same top statements for the baseline mean and the window's: like for like.
  const statements = (baseline.statements ?? []).slice(0, 10);
  const calls = statements.reduce((n, st) => n + st.calls, 0);
  return {
    failureRate: failureRate({ commits: s.xact_commit ?? 0, rollbacks: s.xact_rollback ?? 0, fatal: s.sessions_fatal ?? 0 }),
    load,
    statementMeanMs: calls > 0 ? statements.reduce((n, st) => n + st.meanMs * st.calls, 0) / calls : null,
    watchedQueryIds: statements.map((st) => st.queryid),
  };
}

/**
 * Backends report their statistics lazily (PG 15+: at most once a second while busy): without a
 * flush, our own preflight traffic would land inside the window and dilute the failure rate.
 */
async function flushOwnStatistics(client: Client): Promise<void> {
  const flushed = await client.query('SELECT pg_stat_force_next_flush()').then(() => true, () => false);
  if (!flushed) await sleep(700); // PG 13/14: the statistics collector catches up within 500 ms
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });

/**
 * Watch the database for the window and evaluate the rollback triggers after every sample;
 * stop at the first trigger. Rolling back is the caller's decision (auto, or report only).
 */
export async function guard(ctx: StageContext, client: Client, opts: GuardOptions): Promise<GuardResult> {
  const interval = opts.intervalMs ?? 1000;
  const checkEvery = opts.checkIntervalMs ?? 5000;
  const watched = opts.baseline.watchedQueryIds;
  const db = ctx.target.database;
  const started = Date.now();
  const log = opts.logFile ? await LogScanner.open(opts.logFile) : null;
  await flushOwnStatistics(client);
  const first: Counters = await readCounters(client, db, watched);
  const observation: WindowObservation = { first, last: first, ownTransactions: 0, loads: [], log: null, saturatedSamples: 0, checkFailures: [] };
  const samples: GuardSample[] = [];
  let saturatedRun = 0;
  let lastCheck = 0;
  let checking: Promise<void> | null = null;
  let triggers: TriggerResult[] = [];
  let done = false;
  const engine = new AlertEngine(rulesFromPolicy(ctx.policy.alerts));
  const alerts: GuardResult['alerts'] = [];

  // Load samples run back to back beside the sampler until the window closes.
  const loadLoop = (async () => {
    while (opts.load && !done && !opts.signal?.aborted) observation.loads.push(await opts.load(opts.loadSampleMs ?? 5000));
  })();

  try {
    while (!opts.signal?.aborted) {
      await sleep(interval, opts.signal);
      if (opts.signal?.aborted) break;
      observation.last = await readCounters(client, db, watched);
      const activity = await sampleOnce(client, db);
      observation.ownTransactions += watched.length ? 3 : 2;
      for (const t of engine.update(activity)) {
        alerts.push({ at: t.at, elapsedMs: Date.now() - started, state: t.state, rule: t.rule, severity: t.severity, message: t.message });
      }
      const { connections, connectionLimit } = observation.last;
      saturatedRun = connectionLimit > 0 && connections >= 0.95 * connectionLimit ? saturatedRun + 1 : 0;
      observation.saturatedSamples = Math.max(observation.saturatedSamples, saturatedRun);
      if (log) observation.log = await log.scan();
      if (ctx.policy.rollback_triggers.checks.length && !checking && Date.now() - lastCheck >= checkEvery) {
        lastCheck = Date.now();
        checking = runChecks(ctx.target, ctx.policy.rollback_triggers.checks).then((failed) => {
          observation.checkFailures.push(...failed);
          checking = null;
        });
      }
      const elapsedMs = Date.now() - started;
      const sample = { at: new Date().toISOString(), elapsedMs, connections, connectionLimit };
      samples.push(sample);
      triggers = evaluateTriggers(ctx.policy, opts.baseline, observation);
      opts.onSample?.(sample, triggers);
      if (triggers.some((t) => t.fired) || elapsedMs >= opts.windowMs) break;
    }
  } finally {
    done = true;
    await Promise.all([loadLoop, checking]);
  }
  // Checks or a load sample still in flight may have finished with news: judge once more.
  triggers = evaluateTriggers(ctx.policy, opts.baseline, observation);
  const fired = triggers.filter((t) => t.fired);
  const interrupted = Boolean(opts.signal?.aborted);
  return {
    passed: !interrupted && fired.length === 0, interrupted, fired, triggers,
    windowMs: opts.windowMs, observedMs: Date.now() - started, samples, loads: observation.loads, alerts,
  };
}
