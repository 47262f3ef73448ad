import { withClient } from '../../pg/client.js';
import { readSettings } from '../../pg/catalog.js';
import { fromUrl, type Target } from '../../pg/target.js';
import type { StageContext } from '../../stage.js';
import { probeConnectionLimit } from './connection-limit.js';
import { probeIdleInTransaction } from './idle-in-transaction.js';
import { probeIdleSession } from './idle-session.js';
import { policyTimeout } from './limits.js';
import { probeStatementTimeout } from './statement-timeout.js';
import { probeTransactionTimeout } from './transaction-timeout.js';
import { skipped, toleranceFor, type ProbeProgress, type ProbeResult } from './types.js';

export type { ProbeKind, ProbeProgress, ProbeResult, ProbeStatus } from './types.js';

export interface ProbeOptions {
  /** Also probe as these connection strings (how the applications log in: role-level settings apply at login only). */
  urls?: string[];
  /** Opt-in: fill the database up to its connection limit with a temporary role. */
  connections?: boolean;
  /** Called about 4 times a second while probes wait. */
  onProgress?: (progress: ProbeProgress) => void;
}

/** The timeout probes, by policy parameter. Each opens its own fresh session. */
const TIMEOUT_PROBES = {
  statement_timeout: probeStatementTimeout,
  idle_in_transaction_session_timeout: probeIdleInTransaction,
  transaction_timeout: probeTransactionTimeout,
  idle_session_timeout: probeIdleSession,
} as const;

/**
 * Stable API (used by verify and by `pgharden run`/guard):
 *   runProbes(ctx, { urls?, connections?, onProgress? }): Promise<ProbeResult[]>
 * Proves by behaviour that the policy's limits bite on fresh sessions: for the connecting role
 * and for every `urls` login, each timeout the policy sets is probed; with `connections`, the
 * database's connection limit too (first, alone, so the other probes' sessions do not skew it).
 * Timeout probes run concurrently: the whole takes about the longest timeout plus its tolerance.
 * Never throws for a probe that cannot run: it comes back `skipped` with the reason.
 */
export async function runProbes(ctx: StageContext, opts: ProbeOptions = {}): Promise<ProbeResult[]> {
  const settings = await withClient(ctx.target, readSettings, { appName: 'pgharden verify' });
  const logins: Target[] = [ctx.target, ...(opts.urls ?? []).map((url) => fromUrl(url, '--db'))];
  const results: ProbeResult[] = [];
  if (opts.connections) results.push(await probeConnectionLimit(ctx.target));

  const running = new Map<string, number>();
  const pending: Promise<ProbeResult>[] = [];
  for (const [name, probe] of Object.entries(TIMEOUT_PROBES)) {
    const limit = policyTimeout(ctx.policy, settings, name);
    if (!limit) continue;
    for (const login of logins) {
      if ('skip' in limit) {
        results.push(skipped(name as keyof typeof TIMEOUT_PROBES, login.display, limit.skip));
        continue;
      }
      const label = `${name} as ${login.config.user ?? login.display}`;
      running.set(label, performance.now() + limit.ms + toleranceFor(limit.ms) + 500);
      pending.push(probe(login, limit.ms).finally(() => running.delete(label)));
    }
  }
  const ticker =
    opts.onProgress &&
    setInterval(() => {
      const ends = [...running.values()];
      opts.onProgress!({ running: [...running.keys()], remainingMs: Math.max(0, Math.max(0, ...ends) - performance.now()) });
    }, 250);
  try {
    results.push(...(await Promise.all(pending)));
  } finally {
    if (ticker) clearInterval(ticker);
  }
  return results;
}
