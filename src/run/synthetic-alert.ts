import { AlertEngine } from '../monitor/engine.js';
import type { AlertRule } from '../monitor/rules.js';
import { sampleOnce } from '../monitor/sample.js';
import { connect, type Client } from '../pg/client.js';
import type { StageContext } from '../stage.js';

export interface SyntheticAlert {
  ok: boolean;
  /** The policy's long_query rule, at a short test threshold. */
  thresholdMs: number;
  firedAfterMs: number | null;
  resolved: boolean;
  pid: number;
  message: string;
}

const TEST_THRESHOLD_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Prove the monitoring path end to end: a deliberately long query (our own session, so the
 * new statement_timeout cannot cut it) must be seen by the sampler, fire the policy's
 * long_query rule at a 1 s threshold, and resolve once it is cancelled.
 */
export async function raiseSyntheticAlert(ctx: StageContext, client: Client): Promise<SyntheticAlert> {
  const rule: AlertRule = { name: 'long_query', severity: ctx.policy.alerts.long_query.severity, over: TEST_THRESHOLD_MS };
  const engine = new AlertEngine([rule]);
  const db = ctx.target.database;
  const slow = await connect(ctx.target, { appName: 'pgharden synthetic alert', statementTimeoutMs: 30_000 });
  try {
    const pid: number = (await slow.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const running = slow.query('SELECT pg_sleep(15)').catch(() => undefined);
    const started = performance.now();
    let firedAfterMs: number | null = null;
    while (firedAfterMs === null && performance.now() - started < 8000) {
      await sleep(200);
      const fired = engine.update(await sampleOnce(client, db)).some((t) => t.pid === pid && t.state === 'firing');
      if (fired) firedAfterMs = performance.now() - started;
    }
    await client.query('SELECT pg_cancel_backend($1)', [pid]);
    await running;
    let resolved = false;
    for (let i = 0; i < 10 && !resolved; i++) {
      resolved = engine.update(await sampleOnce(client, db)).some((t) => t.pid === pid && t.state === 'resolved');
      if (!resolved) await sleep(200);
    }
    const ok = firedAfterMs !== null && resolved;
    return {
      ok,
      thresholdMs: TEST_THRESHOLD_MS,
      firedAfterMs,
      resolved,
      pid,
      message: ok
        ? `a synthetic long query (pid ${pid}) fired the ${rule.severity} long_query alert after ${(firedAfterMs! / 1000).toFixed(1)}s at a ${TEST_THRESHOLD_MS / 1000}s test threshold, and resolved when cancelled`
        : `the synthetic long query (pid ${pid}) ${firedAfterMs === null ? 'was not alerted on within 8s' : 'alerted but did not resolve'}`,
    };
  } finally {
    await slow.end().catch(() => undefined);
  }
}
