import type { Target } from '../../pg/target.js';
import { isResult, probeLogin } from './login.js';
import { sqlstateOf } from './session.js';
import { probeResult, roundMs, seconds, toleranceFor, withinLimit, type ProbeResult } from './types.js';

const CANCELLED = '57014';

/**
 * `SELECT pg_sleep(limit + tolerance + ½ s)` on a fresh login must be cancelled with 57014
 * within [limit, limit + tolerance]: the runbook's "run pg_sleep(35) and see it time out".
 */
export async function probeStatementTimeout(target: Target, limitMs: number): Promise<ProbeResult> {
  const login = await probeLogin(target, 'statement_timeout', 'statement_timeout');
  if (isResult(login)) return login;
  const toleranceMs = toleranceFor(limitMs);
  const sleepMs = limitMs + toleranceMs + 500;
  const base = {
    probe: 'statement_timeout' as const,
    as: target.display,
    role: login.role,
    setting: 'statement_timeout',
    name: `statement_timeout probe as ${login.role}`,
    limit: limitMs,
    toleranceMs,
    expected: `57014 after ${seconds(limitMs)}..${seconds(limitMs + toleranceMs)}`,
  };
  const started = performance.now();
  try {
    await login.session.client.query('SELECT pg_sleep($1)', [sleepMs / 1000]);
    const measuredMs = roundMs(performance.now() - started);
    return probeResult({
      ...base,
      status: 'failed',
      measuredMs,
      actual: `completed after ${seconds(measuredMs)}`,
      message: `pg_sleep(${seconds(sleepMs)}) as ${login.role} ran to completion: nothing cancelled it (the session got statement_timeout = ${login.value})`,
    });
  } catch (err) {
    const measuredMs = roundMs(performance.now() - started);
    const sqlstate = sqlstateOf(err);
    if (sqlstate !== CANCELLED) {
      return probeResult({
        ...base,
        status: 'failed',
        measuredMs,
        sqlstate,
        actual: `${sqlstate ?? 'error'} after ${seconds(measuredMs)}`,
        message: `pg_sleep as ${login.role} failed with ${(err as Error).message}${sqlstate ? ` (${sqlstate})` : ''}, not a statement timeout`,
      });
    }
    const inWindow = withinLimit(measuredMs, limitMs, toleranceMs);
    return probeResult({
      ...base,
      status: inWindow ? 'passed' : 'failed',
      measuredMs,
      sqlstate,
      actual: `57014 after ${seconds(measuredMs)}`,
      message: inWindow
        ? `a statement as ${login.role} was cancelled after ${seconds(measuredMs)} (57014; limit ${seconds(limitMs)})`
        : `a statement as ${login.role} was cancelled after ${seconds(measuredMs)}, outside ${seconds(limitMs)}..${seconds(limitMs + toleranceMs)} (the session got statement_timeout = ${login.value})`,
    });
  } finally {
    await login.session.close();
  }
}
