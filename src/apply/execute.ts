import type { Client } from '../pg/client.js';
import { inTransaction } from '../pg/client.js';
import { faultPoint } from '../run/fault.js';
import { recordStep } from '../state/store.js';
import type { RunDir } from '../state/run-dir.js';

export interface Statement {
  /** Journal step name, e.g. `set statement_timeout`. */
  step: string;
  sql: string;
}

export interface ExecuteOptions {
  /** lock_timeout for each change, so a blocked catalog lock cannot queue the application behind us. */
  lockTimeoutMs?: number;
  /** How many times a lock timeout (55P03) is retried, with doubling backoff. */
  retries?: number;
  onRetry?: (step: string, attempt: number, waitMs: number) => void;
  /** Go on with the next statement when one fails (rollback restores what it can); failures are returned. */
  keepGoing?: boolean;
  /** Told after each statement committed (ok) or failed for good: the event stream's change/rollback steps. */
  onStep?: (step: { step: string; sql: string; ok: boolean; attempts: number; ms: number; error?: string }) => void;
}

export interface StepFailure {
  step: string;
  sql: string;
  error: Error & { code?: string };
}

export interface StepResult {
  step: string;
  sql: string;
  attempts: number;
  ms: number;
}

/**
 * Run each statement in its own short transaction together with its journal row, so a
 * step is recorded exactly when its change commits. Lock timeouts are retried with backoff.
 */
export async function executeStatements(
  client: Client,
  runId: string,
  runDir: RunDir,
  statements: Statement[],
  opts: ExecuteOptions = {},
): Promise<{ steps: StepResult[]; failures: StepFailure[] }> {
  const lockTimeout = opts.lockTimeoutMs ?? 2000;
  const retries = opts.retries ?? 5;
  const steps: StepResult[] = [];
  const failures: StepFailure[] = [];
  for (const { step, sql } of statements) {
    const started = performance.now();
    for (let attempt = 1; ; attempt++) {
      try {
        await inTransaction(client, async () => {
          await client.query(`SET LOCAL lock_timeout = ${Math.round(lockTimeout)}`);
          await client.query(sql);
          await recordStep(client, runId, step, 'done', { sql, attempt });
        });
        const ms = performance.now() - started;
        steps.push({ step, sql, attempts: attempt, ms });
        await runDir.append('journal.jsonl', { at: new Date().toISOString(), step, status: 'done', sql, attempt, ms: Math.round(ms) });
        opts.onStep?.({ step, sql, ok: true, attempts: attempt, ms });
        faultPoint(step);
        break;
      } catch (err) {
        if ((err as { code?: string }).code !== '55P03' || attempt > retries) {
          await runDir.append('journal.jsonl', {
            at: new Date().toISOString(),
            step,
            status: 'failed',
            sql,
            error: (err as Error).message,
          });
          opts.onStep?.({ step, sql, ok: false, attempts: attempt, ms: performance.now() - started, error: (err as Error).message });
          if (!opts.keepGoing) throw err;
          failures.push({ step, sql, error: err as StepFailure['error'] });
          break;
        }
        const wait = 200 * 2 ** (attempt - 1);
        opts.onRetry?.(step, attempt, wait);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }
  return { steps, failures };
}
