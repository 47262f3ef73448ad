import type { Target } from '../../pg/target.js';
import { openProbeSession, type ProbeSession } from './session.js';
import { probeResult, type ProbeKind, type ProbeResult } from './types.js';

/** A probe session plus who it logged in as and what value of `setting` the login gave it. */
export interface ProbeLogin {
  session: ProbeSession;
  role: string;
  /** The session's value of the parameter under test, as SHOW prints it. */
  value: string;
}

/**
 * Log in as the application would. A login that fails is a failed probe (verify exits 1 with the
 * reason): the applications log in the same way, so a wrong password or a refused role is
 * exactly what verification is for — never a pass, and not a "skipped" that reads like one.
 */
export async function probeLogin(target: Target, probe: ProbeKind, setting: string): Promise<ProbeLogin | ProbeResult> {
  let session: ProbeSession;
  try {
    session = await openProbeSession(target, probe);
  } catch (err) {
    const e = err as { message?: string; code?: string };
    const why = e.message ?? String(err);
    return probeResult({
      probe,
      as: target.display,
      status: 'failed',
      name: `${probe} probe as ${target.display}`,
      setting,
      sqlstate: e.code,
      message: `${probe} probe as ${target.display} failed: ${/^cannot (connect|log in)/.test(why) ? why : `cannot log in: ${why}`}`,
    });
  }
  const { rows } = await session.client.query(`SELECT current_user AS role, current_setting($1, true) AS value`, [setting]);
  return { session, role: rows[0].role, value: rows[0].value ?? 'not set' };
}

export const isResult = (x: ProbeLogin | ProbeResult): x is ProbeResult => 'status' in x;
