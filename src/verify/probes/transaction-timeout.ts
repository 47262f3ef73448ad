import type { Target } from '../../pg/target.js';
import { probeTermination, type TerminationSpec } from './termination.js';

/** Each statement short, never idle long: only the transaction's total age may trip. */
const STEP_SECONDS = 0.05;

/**
 * A transaction kept busy with short statements (so neither statement_timeout nor the idle
 * timeout can fire) must be ended by transaction_timeout (PG 17+) with 25P04.
 */
export const transactionTimeout: TerminationSpec = {
  probe: 'transaction_timeout',
  sqlstate: '25P04',
  state: 'kept busy in one transaction',
  async enter(client) {
    const started = performance.now();
    await client.query('BEGIN');
    return started;
  },
  async hold(client, stop) {
    while (!stop()) await client.query('SELECT pg_sleep($1)', [STEP_SECONDS]);
  },
};

export const probeTransactionTimeout = (target: Target, limitMs: number) => probeTermination(transactionTimeout, target, limitMs);
