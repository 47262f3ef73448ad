import type { Target } from '../../pg/target.js';
import { idleSpec, probeTermination } from './termination.js';

/** One statement, then idle outside any transaction: idle_session_timeout (PG 14+) must end the session with 57P05. */
export const idleSession = idleSpec({ probe: 'idle_session_timeout', sqlstate: '57P05', state: 'left idle (no transaction)' }, [
  'SELECT 1',
]);

export const probeIdleSession = (target: Target, limitMs: number) => probeTermination(idleSession, target, limitMs);
