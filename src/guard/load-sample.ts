import { loginSqlstate } from '../load/client-loop.js';
import type { LoadSample } from './triggers.js';

/**
 * Draw one load sample; a sample that rejects (its first login refused with 53300, the server
 * restarting, …) becomes a sample of zero transactions carrying that error by SQLSTATE, so it is
 * evidence for the triggers instead of an unhandled rejection that ends the process mid-window.
 */
export async function drawLoadSample(load: (durationMs: number) => Promise<LoadSample>, durationMs: number): Promise<LoadSample> {
  try {
    return await load(durationMs);
  } catch (err) {
    const code = loginSqlstate(err);
    return {
      transactions: 0,
      failedTransactions: 0,
      errors: { [code]: 1 },
      latency: { p50Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0 },
      failure: `${(err as Error).message ?? String(err)}`,
    };
  }
}
