import type { Client } from '../pg/client.js';

/**
 * Run `fn` on `client`, but give up after `ms`: statement_timeout is enforced by the
 * server, so when the network silently drops packets (no reset) only a client-side
 * deadline notices. The socket is cut, which makes pg reject the pending query; the
 * caller then drops the session and opens a new one.
 */
export async function withDeadline<T>(client: Client, ms: number, fn: (client: Client) => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`no answer from the server for ${ms / 1000}s: network down?`));
      (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    }, ms);
  });
  try {
    return await Promise.race([fn(client), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * end() waits for the server's goodbye, which a dead network never sends: wait a second at most. The timer
 * holds the process: unreferenced, a stuck end() with no socket left would let Node exit mid-loop, silently.
 */
export async function endQuickly(client: Client): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([client.end().catch(() => undefined), new Promise((r) => (timer = setTimeout(r, 1_000)))]);
  clearTimeout(timer);
}
