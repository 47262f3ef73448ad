import { connectionFailure, isConnectFailure } from '../pg/client.js';
import type { Target } from '../pg/target.js';
import { AlertEngine } from './engine.js';
import type { AlertRule } from './rules.js';
import { Sampler } from './sampler.js';
import type { LogScanner } from '../guard/log-scan.js';
import type { Policy } from '../policy/schema.js';
import type { MonitorEvent, Sink } from './sinks/sink.js';

export interface MonitorOptions {
  target: Target;
  rules: AlertRule[];
  intervalMs: number;
  sinks: Sink[];
  /** Stops the loop (q, Ctrl-C, SIGTERM, --duration). */
  signal: AbortSignal;
  /** --recycle-idle: end one idle pre-apply session every `everyMs`. */
  recycle?: { everyMs: number; minIdleMs: number } | null;
  /** Cap of the reconnect backoff (ms). */
  maxBackoffMs?: number;
  /** The policy's settings: gives settings gauges and per-role compliance (pgharden_policy_compliant). */
  policySettings?: Policy['settings'];
  /** --log FILE: server-log errors by SQLSTATE. */
  log?: LogScanner | null;
  /** How often the apply time and the configuration are re-read (ms). */
  refreshMs?: number;
  /** PgBouncer admin consoles (policy poolers:) counted in the rollout. */
  poolers?: string[];
  /** 'instance': every database in each poll (--all-databases). */
  scope?: import('./sample.js').SampleScope;
}

/** 250 ms, 500 ms, 1 s, … capped, with ±20 % jitter so many monitors do not reconnect in step. */
export function backoffMs(attempt: number, maxMs: number): number {
  const base = Math.min(maxMs, 250 * 2 ** Math.min(attempt - 1, 16));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

const nowIso = () => new Date().toISOString();

/**
 * The monitor loop: sample every interval, feed the alert engine, hand everything to the
 * sinks. The first connection must succeed (a wrong URL exits 3); after that, any failure
 * (server restart, 57P01, network loss, a server-side error) is reported and retried with
 * backoff, for as long as the monitor runs. It never throws once started.
 */
export async function runMonitor(opts: MonitorOptions): Promise<void> {
  const engine = new AlertEngine(opts.rules);
  const emit = (fn: (sink: Sink) => void) => {
    for (const sink of opts.sinks) {
      try {
        fn(sink);
      } catch (err) {
        process.stderr.write(`pgharden monitor: a sink failed: ${(err as Error).message}\n`);
      }
    }
  };
  const event = (e: MonitorEvent) => emit((s) => s.event?.(e));
  const sampler = new Sampler(opts.target, {
    statementTimeoutMs: Math.max(5_000, opts.intervalMs * 2),
    onLost: (err) => event({ type: 'connection_lost', at: nowIso(), error: err.message, code: err.code }),
    policySettings: opts.policySettings,
    log: opts.log,
    applyRefreshMs: opts.refreshMs,
    poolers: opts.poolers,
    onConfigError: (err) =>
      event({
        type: 'warning',
        at: nowIso(),
        message: `cannot read the configuration (settings gauges, pgharden_policy_compliant): ${err.message}`,
      }),
    scope: opts.scope,
  });
  emit((s) =>
    s.attach?.({
      signalBackend: (pid, action) => sampler.signalBackend(pid, action),
      setScope: (scope) => (sampler.scope = scope),
    }),
  );

  // The loop always waits on a socket or a timer. Should a bug ever leave it waiting on nothing, Node would
  // exit 0 in silence: a monitor that stops watching must say so and fail (70), never look like a clean stop.
  const drained = () => {
    process.stderr.write('pgharden monitor: internal error: the monitor loop was left waiting on nothing; exiting\n');
    process.exitCode = 70;
  };
  process.on('beforeExit', drained);

  let failures = 0;
  let lastRecycle = -Infinity;
  let first = true;
  try {
    while (!opts.signal.aborted) {
      const tick = performance.now();
      try {
        const wasConnected = sampler.connected;
        const sample = await sampler.sample();
        if (!wasConnected) event({ type: 'connected', at: nowIso(), target: opts.target.display, reconnected: !first });
        if (first && !(await sampler.seesAllSessions())) {
          event({
            type: 'warning',
            at: nowIso(),
            message: `${opts.target.display}: this role is not a member of pg_monitor or pg_read_all_stats: other roles' sessions are counted (state "unknown") but their durations and queries are hidden, so they raise no session alerts`,
          });
        }
        first = false;
        failures = 0;
        const transitions = engine.update(sample);
        const firing = engine.firing();
        emit((s) => s.sample?.(sample, firing));
        for (const t of transitions) emit((s) => s.transition?.(t));

        // Half an interval of slack: ticks are never exactly everyMs apart.
        if (opts.recycle && sample.rollout?.idleOnOldSettings && tick - lastRecycle >= opts.recycle.everyMs - opts.intervalMs / 2) {
          lastRecycle = tick;
          const ended = await sampler.recycleIdle({ max: 1, minIdleMs: opts.recycle.minIdleMs }).catch((err) => {
            event({ type: 'warning', at: nowIso(), message: `--recycle-idle: ${(err as Error).message}` });
            return [];
          });
          for (const r of ended) event({ type: 'recycled', at: nowIso(), ...r });
        }
      } catch (err) {
        if (first) throw isConnectFailure(err) ? connectionFailure(err, opts.target) : err;
        failures++;
        const retryInMs = backoffMs(failures, opts.maxBackoffMs ?? 5_000);
        const e = err as { message?: string; code?: string };
        event({
          type: 'poll_failed',
          at: nowIso(),
          error: e.message || String(err),
          code: e.code,
          connectionLost: !sampler.connected,
          attempt: failures,
          retryInMs,
        });
        await sleep(retryInMs, opts.signal);
        continue;
      }
      await sleep(Math.max(0, opts.intervalMs - (performance.now() - tick)), opts.signal);
    }
  } finally {
    process.off('beforeExit', drained);
    await sampler.close();
  }
}
