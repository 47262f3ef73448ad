import { UsageError } from '../../errors.js';
import type { AlertTransition } from '../engine.js';
import type { Sink } from './sink.js';

export interface WebhookOptions {
  /** Attempts per transition (first try included). */
  attempts?: number;
  /** First retry delay (ms); doubles each time. */
  backoffMs?: number;
  /** Per-request timeout (ms). */
  timeoutMs?: number;
  /** Transitions kept waiting at most; the oldest are dropped beyond it (a dead endpoint must not eat memory). */
  maxQueue?: number;
  onWarning?: (message: string) => void;
  /** Which server the monitor watches (`postgres://user@host:port/db`, no password), sent as `target`. */
  source?: string;
}

export function parseWebhookUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--webhook ${JSON.stringify(text)}: not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--webhook ${text}: only http:// and https:// URLs`);
  return url;
}

/**
 * --webhook URL: POST each alert transition as JSON (`{"type":"alert","state":"firing",…,"target"}`).
 * transition() only queues; one background worker delivers in order, retrying 5xx, 429
 * and network errors with exponential backoff, so a slow or dead endpoint never delays a poll.
 */
export function webhookSink(endpoint: string, opts: WebhookOptions = {}): Sink {
  const url = parseWebhookUrl(endpoint);
  const attempts = opts.attempts ?? 5;
  const backoff = opts.backoffMs ?? 500;
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const maxQueue = opts.maxQueue ?? 1_000;
  const warn = opts.onWarning ?? ((m: string) => process.stderr.write(`pgharden monitor: webhook: ${m}\n`));
  const queue: AlertTransition[] = [];
  let worker: Promise<void> | null = null;
  let closing = false;

  const post = async (t: AlertTransition): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      let why: string;
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'pgharden-monitor' },
          body: JSON.stringify(opts.source ? { ...t, target: opts.source } : t),
          signal: AbortSignal.timeout(timeoutMs),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return;
        why = `HTTP ${res.status}`;
        if (res.status < 500 && res.status !== 429) return warn(`${t.state} ${t.rule} rejected with ${why}; not retried`);
      } catch (err) {
        why = (err as Error).message;
      }
      if (attempt >= attempts || closing) return warn(`${t.state} ${t.rule} not delivered after ${attempt} attempt(s): ${why}`);
      await new Promise((r) => setTimeout(r, backoff * 2 ** (attempt - 1)));
    }
  };

  const drain = async () => {
    while (queue.length) await post(queue.shift()!);
    worker = null;
  };

  return {
    transition(t) {
      queue.push(t);
      if (queue.length > maxQueue) warn(`queue full: dropped ${queue.splice(0, queue.length - maxQueue).length} old transition(s)`);
      worker ??= drain();
    },
    /** Give queued transitions a last chance (a few seconds), without retries. */
    async close() {
      closing = true;
      if (worker) await Promise.race([worker, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    },
  };
}
