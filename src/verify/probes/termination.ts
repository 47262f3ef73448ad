import type { Client } from '../../pg/client.js';
import type { Target } from '../../pg/target.js';
import { isResult, probeLogin } from './login.js';
import { sleep, sqlstateOf } from './session.js';
import { probeResult, roundMs, seconds, toleranceFor, withinLimit, type ProbeKind, type ProbeResult } from './types.js';

/** A limit the server enforces by ending the session (FATAL + SQLSTATE), not by cancelling a statement. */
export interface TerminationSpec {
  probe: ProbeKind;
  /** The SQLSTATE of the FATAL error the server must send. */
  sqlstate: string;
  /** "left idle in a transaction", for messages. */
  state: string;
  /** Put the session in the watched state; resolves with the moment the limit started counting. */
  enter(client: Client): Promise<number>;
  /** Keep the session in that state until `stop()` (transaction_timeout needs a busy transaction); rejects with the server's error. */
  hold?(client: Client, stop: () => boolean): Promise<void>;
}

/** A limit on idleness: run `statements`, then stay idle; the limit counts from the last answer. */
export function idleSpec(spec: Pick<TerminationSpec, 'probe' | 'sqlstate' | 'state'>, statements: string[]): TerminationSpec {
  return {
    ...spec,
    async enter(client) {
      for (const sql of statements) await client.query(sql);
      return performance.now();
    },
  };
}

/**
 * Enter the state, wait up to limit + tolerance + ½ s for the server to end the session
 * with the expected SQLSTATE, and measure when it did. The session is closed whatever happens.
 */
export async function probeTermination(spec: TerminationSpec, target: Target, limitMs: number): Promise<ProbeResult> {
  const login = await probeLogin(target, spec.probe, spec.probe);
  if (isResult(login)) return login;
  const { session, role } = login;
  const toleranceMs = toleranceFor(limitMs);
  const base = {
    probe: spec.probe,
    as: target.display,
    role,
    setting: spec.probe,
    name: `${spec.probe} probe as ${role}`,
    limit: limitMs,
    toleranceMs,
    expected: `${spec.sqlstate} after ${seconds(limitMs)}..${seconds(limitMs + toleranceMs)}`,
  };
  let done = false;
  try {
    const started = await spec.enter(session.client);
    const held = spec.hold
      ? spec
          .hold(session.client, () => done)
          .then(
            () => null,
            (err: Error) => err,
          )
      : new Promise<null>(() => undefined);
    const outcome = await Promise.race([session.ended, held, sleep(limitMs + toleranceMs + 500).then(() => 'waited' as const)]);
    const measuredMs = roundMs(performance.now() - started);
    if (outcome === 'waited' || outcome === null) {
      const what =
        outcome === 'waited' ? `was still alive after ${seconds(measuredMs)}` : `ended after ${seconds(measuredMs)} without an error`;
      return probeResult({
        ...base,
        status: 'failed',
        measuredMs,
        actual: what,
        message: `a session of ${role} ${spec.state} ${what}: ${spec.probe} did not end it (the session got ${spec.probe} = ${login.value})`,
      });
    }
    const sqlstate = sqlstateOf(outcome);
    const inWindow = sqlstate === spec.sqlstate && withinLimit(measuredMs, limitMs, toleranceMs);
    return probeResult({
      ...base,
      status: inWindow ? 'passed' : 'failed',
      measuredMs,
      sqlstate,
      actual: `${sqlstate ?? 'no SQLSTATE'} after ${seconds(measuredMs)}`,
      message: inWindow
        ? `a session of ${role} ${spec.state} was terminated after ${seconds(measuredMs)} (${sqlstate}; limit ${seconds(limitMs)})`
        : `a session of ${role} ${spec.state} ended after ${seconds(measuredMs)} with ${outcome.message}${sqlstate ? ` (${sqlstate})` : ''}; expected ${base.expected} (the session got ${spec.probe} = ${login.value})`,
    });
  } finally {
    done = true;
    await session.close();
  }
}
