import { connect, isConnectFailure, type Client } from '../../pg/client.js';
import type { Target } from '../../pg/target.js';
import { ensureAlertsTable, recordTransition } from '../alert-store.js';
import { deliveryQueue, type Attempt } from './delivery-queue.js';
import type { Sink } from './sink.js';

/**
 * --record: keep each alert transition in pgharden.alerts, on a session of its own so a
 * slow insert never delays a poll. The table is created (or found) before the monitor
 * starts, so a role that cannot write there fails at once; afterwards a lost connection
 * is reopened and the insert retried with backoff.
 */
export async function recordSink(target: Target): Promise<Sink> {
  let client: Client | null = null;
  const session = async (): Promise<Client> => {
    if (client) return client;
    const opened: Client = await connect(target, {
      appName: 'pgharden monitor (alerts)',
      statementTimeoutMs: 5_000,
      onError: () => {
        if (client === opened) client = null;
        void opened.end().catch(() => undefined);
      },
    });
    return (client = opened);
  };
  await ensureAlertsTable(await session());

  const insert = async (t: Parameters<typeof recordTransition>[1]): Promise<Attempt> => {
    try {
      await recordTransition(await session(), t);
      return { ok: true };
    } catch (err) {
      const lost = isConnectFailure(err) || !(err as { code?: string }).code;
      if (lost) {
        await client?.end().catch(() => undefined);
        client = null;
      }
      return { ok: false, why: (err as Error).message, retry: lost };
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
      await client?.end().catch(() => undefined);
    },
  };
}
