import type { Client } from '../pg/client.js';
import type { Baseline } from '../preflight/baseline.js';
import type { StageContext } from '../stage.js';
import { AlertEngine } from '../monitor/engine.js';
import { LazySession } from '../monitor/lazy-session.js';
import { backoffMs } from '../monitor/monitor.js';
import { rulesFromPolicy } from '../monitor/rules.js';
import { sampleOnce } from '../monitor/sample.js';
import { CounterWindow, readCounters, statementFailureRate, type CounterDeltas, type Counters } from './counters.js';
import { runChecks } from './checks.js';
import { drawLoadSample } from './load-sample.js';
import { LogScanner } from './log-scan.js';
import { guardSampleEvent } from './sample-event.js';
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
  /** Back-to-back load samples through the window (with --load). A rejected sample becomes data, never an unhandled rejection. */
  load?: (durationMs: number) => Promise<LoadSample>;
  loadSampleMs?: number;
  logFile?: string;
  onSample?: (sample: GuardSample, triggers: TriggerResult[]) => void;
  /** Told when the guard's session is lost and when it is back (for a progress line). */
  onConnection?: (event: { state: 'lost' | 'recovered'; elapsedMs: number; error?: string }) => void;
  /** Aborted on SIGINT: the guard stops and reports itself interrupted. */
  signal?: AbortSignal;
  /**
   * How long the server may stay unreachable before the guard gives up with `lostConnection`
   * (default: the larger of 30 s and 3 intervals). Shorter outages are ridden out: the window
   * goes on, and the decision is taken on the readings before and after.
   */
  reconnectWithinMs?: number;
}

export interface GuardOutage {
  elapsedMs: number;
  error: string;
  /** How long until a reading succeeded again; null when it never did. */
  recoveredAfterMs: number | null;
}

export interface GuardResult {
  /** The window ran to its end without a trigger (and every trigger require_measured names was measured). */
  passed: boolean;
  interrupted: boolean;
  /** The server stayed unreachable longer than reconnectWithinMs: no decision could be taken on data. */
  lostConnection: boolean;
  outages: GuardOutage[];
  fired: TriggerResult[];
  triggers: TriggerResult[];
  /** Triggers that could not be measured in the window (reported as such, never as passed). */
  notMeasured: TriggerResult['trigger'][];
  windowMs: number;
  observedMs: number;
  samples: GuardSample[];
  loads: LoadSample[];
  /** pg_stat_database increments over the window, counter by counter (null: no reading at all). */
  counters: CounterDeltas | null;
  /** --log could not be read: the guard went on without it (the caller should have checked it before the change). */
  logError: string | null;
  /** Alert transitions of the policy's alert rules during the window (the monitor's engine). */
  alerts: { at: string; elapsedMs: number; state: 'firing' | 'resolved'; rule: string; severity: string; message: string }[];
}

/** What "normal" was, from the baseline preflight captured (and its load sample, if any). */
export function guardBaseline(baseline: Baseline, load: LoadSample | null): GuardBaseline {
  const s = baseline.statDatabase as Record<string, number | undefined | null>;
  // The same top statements for the baseline and the window: like for like.
  const statements = (baseline.statements ?? []).slice(0, 10);
  const calls = statements.reduce((n, st) => n + st.calls, 0);
  return {
    failureRate: statementFailureRate({
      commits: Number(s.xact_commit ?? 0),
      rollbacks: Number(s.xact_rollback ?? 0),
      fatal: s.sessions_fatal == null ? null : Number(s.sessions_fatal),
    }),
    load,
    statementMeanMs: calls > 0 ? statements.reduce((n, st) => n + st.meanMs * st.calls, 0) / calls : null,
    watchedQueryIds: statements.map((st) => st.queryid),
  };
}

/**
 * Backends report their statistics lazily (PG 15+: at most once a second while busy): without a
 * flush, the caller's preflight traffic would land inside the window and dilute the failure rate.
 * Best effort, bounded: the caller's session may be gone, which is not the guard's problem.
 */
export async function flushStatistics(client: Client): Promise<void> {
  const flushed = await Promise.race([
    client.query('SELECT pg_stat_force_next_flush()').then(
      () => true,
      () => false,
    ),
    sleep(2_000).then(() => false),
  ]);
  if (!flushed) await sleep(700); // PG 13/14: the statistics collector catches up within 500 ms
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

const message = (err: unknown) =>
  `${(err as Error).message ?? err}${(err as { code?: string }).code ? ` (${(err as { code?: string }).code})` : ''}`;

/**
 * Watch the database for the window and evaluate the rollback triggers after every reading;
 * stop at the first trigger. Rolling back is the caller's decision (auto, or report only).
 *
 * The readings run on the guard's own session, opened lazily and reopened with backoff when the
 * server ends it (pg_terminate_backend, a restart): a lost session is a gap in the readings, not
 * a verdict. `client` (the caller's session) is only asked to flush its statistics.
 */
export async function guard(ctx: StageContext, client: Client, opts: GuardOptions): Promise<GuardResult> {
  const interval = opts.intervalMs ?? 1000;
  const checkEvery = opts.checkIntervalMs ?? 5000;
  const reconnectWithin = opts.reconnectWithinMs ?? Math.max(30_000, 3 * interval);
  const watched = opts.baseline.watchedQueryIds;
  const db = ctx.target.database;
  const started = Date.now();
  const elapsed = () => Date.now() - started;
  const outages: GuardOutage[] = [];
  let lostConnection = false;
  const lost = (err: unknown): GuardOutage => {
    let open = outages.at(-1);
    if (!open || open.recoveredAfterMs !== null) {
      open = { elapsedMs: elapsed(), error: message(err), recoveredAfterMs: null };
      outages.push(open);
      opts.onConnection?.({ state: 'lost', elapsedMs: elapsed(), error: open.error });
      ctx.events?.emit({ type: 'guard.connection', state: 'lost', elapsedMs: elapsed(), error: open.error });
    }
    return open;
  };
  // The server may also end the session between readings (pg_terminate_backend while idle): an outage too.
  const session = new LazySession(ctx.target, {
    appName: 'pgharden guard',
    statementTimeoutMs: Math.max(10_000, 2 * interval),
    onLost: lost,
  });

  /** One reading on the guard's session; null while the server is unreachable (backoff inside, bounded overall). */
  const read = async <T>(fn: (c: Client) => Promise<T>): Promise<T | null> => {
    for (let attempt = 1; ; attempt++) {
      try {
        const value = await session.use(fn);
        const open = outages.at(-1);
        if (open && open.recoveredAfterMs === null) {
          open.recoveredAfterMs = elapsed() - open.elapsedMs;
          opts.onConnection?.({ state: 'recovered', elapsedMs: elapsed() });
          ctx.events?.emit({ type: 'guard.connection', state: 'recovered', elapsedMs: elapsed() });
        }
        return value;
      } catch (err) {
        const open = lost(err);
        if (elapsed() - open.elapsedMs >= reconnectWithin) {
          lostConnection = true;
          return null;
        }
        // Within one reading: back off (250 ms, 500 ms, …) but never past the next reading's time.
        if (attempt >= 3 || opts.signal?.aborted) return null;
        await sleep(Math.min(backoffMs(attempt, interval), interval), opts.signal);
      }
    }
  };

  let logError: string | null = null;
  const log = opts.logFile
    ? await LogScanner.open(opts.logFile, db).catch((err) => {
        logError = `--log ${opts.logFile}: ${message(err)}`;
        return null;
      })
    : null;
  await flushStatistics(client);

  let first: Counters | null = null;
  while (!first && !lostConnection && !opts.signal?.aborted) {
    first = await read((c) => readCounters(c, db, watched));
    if (!first) await sleep(Math.min(interval, 1000), opts.signal);
  }
  const window = first ? new CounterWindow(first) : null;
  const observation: WindowObservation | null =
    first && window
      ? {
          first,
          last: first,
          deltas: window.deltas,
          ownTransactions: 0,
          loads: [],
          log: null,
          saturatedSamples: 0,
          peakConnections: first.connections,
          poolReadings: 1,
          checkFailures: [],
        }
      : null;
  const samples: GuardSample[] = [];
  const engine = new AlertEngine(rulesFromPolicy(ctx.policy.alerts));
  const alerts: GuardResult['alerts'] = [];
  let saturatedRun = 0;
  let lastCheck = 0;
  let checking: Promise<void> | null = null;
  let triggers: TriggerResult[] = [];
  let done = false;
  const limits = ctx.policy.rollback_triggers;
  ctx.events?.emit({
    type: 'guard.started',
    windowMs: opts.windowMs,
    intervalMs: interval,
    triggers: {
      timeoutErrorsIncrease: limits.timeout_errors_increase,
      latencyDegradation: limits.latency_degradation,
      poolExhaustion: limits.pool_exhaustion,
    },
  });

  // Load samples run back to back beside the sampler until the window closes. Each is awaited
  // here and a rejection becomes a sample with its SQLSTATE (a refused login is pool evidence).
  const loadLoop = (async () => {
    while (opts.load && observation && !done && !opts.signal?.aborted) {
      const sample = await drawLoadSample(opts.load, opts.loadSampleMs ?? 5000);
      observation.loads.push(sample);
      // A sample that failed at once (login refused) would otherwise spin: wait a reading's time.
      if (sample.failure) await sleep(interval, opts.signal);
    }
  })();

  try {
    while (observation && window && !opts.signal?.aborted && !lostConnection) {
      await sleep(interval, opts.signal);
      if (opts.signal?.aborted) break;
      const reading = await read(async (c) => ({ counters: await readCounters(c, db, watched), activity: await sampleOnce(c, db) }));
      if (reading) {
        window.add(reading.counters);
        observation.last = reading.counters;
        observation.ownTransactions += watched.length ? 3 : 2;
        observation.poolReadings++;
        for (const t of engine.update(reading.activity)) {
          alerts.push({ at: t.at, elapsedMs: elapsed(), state: t.state, rule: t.rule, severity: t.severity, message: t.message });
          ctx.events?.emit({
            type: t.state === 'firing' ? 'alert.fired' : 'alert.resolved',
            rule: t.rule,
            severity: t.severity,
            key: t.key,
            message: t.message,
            value: t.value,
            threshold: t.threshold,
            elapsedMs: elapsed(),
          });
        }
        const { connections, connectionLimit } = reading.counters;
        observation.peakConnections = Math.max(observation.peakConnections, connections);
        saturatedRun = connectionLimit > 0 && connections >= 0.95 * connectionLimit ? saturatedRun + 1 : 0;
        observation.saturatedSamples = Math.max(observation.saturatedSamples, saturatedRun);
      } else saturatedRun = 0; // no reading: the run of saturated readings is broken, not extended
      if (log)
        observation.log = await log.scan().catch((err) => {
          logError ??= `--log ${opts.logFile}: ${message(err)}`;
          return observation.log;
        });
      if (ctx.policy.rollback_triggers.checks.length && !checking && Date.now() - lastCheck >= checkEvery) {
        lastCheck = Date.now();
        checking = runChecks(ctx.target, ctx.policy.rollback_triggers.checks)
          .then(
            (failed) => {
              observation.checkFailures.push(...failed);
            },
            () => undefined,
          )
          .finally(() => {
            checking = null;
          });
      }
      const last = observation.last;
      const sample = {
        at: new Date().toISOString(),
        elapsedMs: elapsed(),
        connections: last.connections,
        connectionLimit: last.connectionLimit,
      };
      if (reading) samples.push(sample);
      triggers = evaluateTriggers(ctx.policy, opts.baseline, observation);
      opts.onSample?.(sample, triggers);
      if (reading) ctx.events?.emit(guardSampleEvent(sample, opts, triggers, observation.loads, limits));
      // At the end of the window a reading is needed: in an outage, keep trying (bounded by reconnectWithin).
      if (triggers.some((t) => t.fired) || (reading && sample.elapsedMs >= opts.windowMs)) break;
    }
  } finally {
    done = true;
    await Promise.all([loadLoop, checking]);
    await log?.close();
    await session.close();
  }
  const interrupted = Boolean(opts.signal?.aborted);
  if (observation) {
    // Checks or a load sample still in flight may have finished with news: judge once more.
    if (log) observation.log = log.snapshot();
    triggers = evaluateTriggers(ctx.policy, opts.baseline, observation, { final: !interrupted && !lostConnection });
  }
  const fired = triggers.filter((t) => t.fired);
  for (const t of fired) {
    ctx.events?.emit({
      type: 'trigger.fired',
      trigger: t.trigger,
      summary: t.summary,
      before: t.before ?? null,
      after: t.after ?? null,
      threshold: t.threshold ?? null,
    });
  }
  return {
    passed: !interrupted && !lostConnection && observation !== null && fired.length === 0,
    interrupted,
    lostConnection,
    outages,
    fired,
    triggers,
    notMeasured: triggers.filter((t) => !t.measured && t.trigger !== 'checks').map((t) => t.trigger),
    windowMs: opts.windowMs,
    observedMs: elapsed(),
    samples,
    loads: observation?.loads ?? [],
    counters: observation?.deltas ?? null,
    logError,
    alerts,
  };
}
