import type { Target } from '../../pg/target.js';
import { idleSpec, probeTermination } from './termination.js';

/** BEGIN, one trivial statement, then idle: the runbook's "leave a transaction idle for 65 s and see it die". */
export const idleInTransaction = idleSpec(
  { probe: 'idle_in_transaction_session_timeout', sqlstate: '25P03', state: 'left idle in a transaction' },
  ['BEGIN', 'SELECT 1'],
);

export const probeIdleInTransaction = (target: Target, limitMs: number) => probeTermination(idleInTransaction, target, limitMs);
