import type { Target } from '../../pg/target.js';
import { ensureAlertsTable, recordTransition } from '../alert-store.js';
import type { AlertTransition } from '../engine.js';
import { LazySession, sessionBroken } from '../lazy-session.js';
import { deliveryQueue, type Attempt } from './delivery-queue.js';
import type { Sink } from './sink.js';

/**
 * --record: keep each alert transition in pgharden.alerts, on a session of its own so a
 * slow insert never delays a poll. The table is created (or found) before the monitor
 * starts, so a role that cannot write there fails at once; afterwards a lost connection
 * is reopened and the insert retried with backoff.
 */
export async function recordSink(target: Target): Promise<Sink> {
  const session = new LazySession(target, { appName: 'pgharden monitor (alerts)', statementTimeoutMs: 5_000 });
  try {
    await session.use(ensureAlertsTable);
  } catch (err) {
    await session.close();
    throw err;
  }
  const insert = async (t: AlertTransition): Promise<Attempt> => {
    try {
      await session.use((client) => recordTransition(client, t));
      return { ok: true };
    } catch (err) {
      return { ok: false, why: (err as Error).message, retry: sessionBroken(err) };
    }
  };
  const queue = deliveryQueue(insert, {
    warn: (m) => process.stderr.write(`pgharden monitor: --record: ${m}\n`),
    describe: (t) => `${t.state} ${t.rule}`,
  });
  return {
    transition: (t) => queue.push(t),
    async close() {
      await queue.close();
      await session.close();
    },
  };
}
