import type { Target } from '../../pg/target.js';
import { openProbeSession, type ProbeSession } from './session.js';
import { skipped, type ProbeKind, type ProbeResult } from './types.js';

/** A probe session plus who it logged in as and what value of `setting` the login gave it. */
export interface ProbeLogin {
  session: ProbeSession;
  role: string;
  /** The session's value of the parameter under test, as SHOW prints it. */
  value: string;
}

/** Log in as the application would; a login that fails makes the probe skipped (with the reason), never passed. */
export async function probeLogin(target: Target, probe: ProbeKind, setting: string): Promise<ProbeLogin | ProbeResult> {
  let session: ProbeSession;
  try {
    session = await openProbeSession(target, probe);
  } catch (err) {
    return skipped(probe, target.display, `cannot log in: ${(err as Error).message}`, setting);
  }
  const { rows } = await session.client.query(`SELECT current_user AS role, current_setting($1, true) AS value`, [setting]);
  return { session, role: rows[0].role, value: rows[0].value ?? 'not set' };
}

export const isResult = (x: ProbeLogin | ProbeResult): x is ProbeResult => 'status' in x;
