import type { Target } from '../../pg/target.js';
import { probeTermination, type TerminationSpec } from './termination.js';

/** BEGIN, one trivial statement, then idle: the runbook's "leave a transaction idle for 65 s and see it die". */
export const idleInTransaction: TerminationSpec = {
  probe: 'idle_in_transaction_session_timeout',
  sqlstate: '25P03',
  state: 'left idle in a transaction',
  async enter(client) {
    await client.query('BEGIN');
    await client.query('SELECT 1');
    return performance.now();
  },
};

export const probeIdleInTransaction = (target: Target, limitMs: number) => probeTermination(idleInTransaction, target, limitMs);
