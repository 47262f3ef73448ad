import type { Target } from '../../pg/target.js';
import { probeTermination, type TerminationSpec } from './termination.js';

/** One statement, then idle outside any transaction: idle_session_timeout (PG 14+) must end the session with 57P05. */
export const idleSession: TerminationSpec = {
  probe: 'idle_session_timeout',
  sqlstate: '57P05',
  state: 'left idle (no transaction)',
  async enter(client) {
    await client.query('SELECT 1');
    return performance.now();
  },
};

export const probeIdleSession = (target: Target, limitMs: number) => probeTermination(idleSession, target, limitMs);
