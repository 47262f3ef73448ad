import { UsageError } from '../../errors.js';
import type { AlertTransition } from '../engine.js';
import { deliveryQueue, type Attempt, type DeliveryOptions } from './delivery-queue.js';
import type { Sink } from './sink.js';

export interface WebhookOptions extends Pick<DeliveryOptions<AlertTransition>, 'attempts' | 'backoffMs' | 'maxQueue'> {
  /** Per-request timeout (ms); also how long close() waits for what is queued. */
  timeoutMs?: number;
  /** Which server the monitor watches (`postgres://user@host:port/db`, no password), sent as `target`. */
  source?: string;
  /** The policy's contacts (DBA team, on-call, …), sent with every alert so the receiver knows whom to call. */
  contacts?: Record<string, string>;
  /** Where delivery problems are reported (default: stderr). */
  onWarning?: (message: string) => void;
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
 * --webhook URL: POST each alert transition as JSON (`{"type":"alert","state":"firing",…,"target"}`),
 * in order, in the background: 5xx, 429 and network errors are retried with exponential
 * backoff, other 4xx are not, and a slow or dead endpoint never delays a poll.
 */
export function webhookSink(endpoint: string, opts: WebhookOptions = {}): Sink {
  const url = parseWebhookUrl(endpoint);
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const post = async (t: AlertTransition): Promise<Attempt> => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'pgharden-monitor' },
      body: JSON.stringify({ ...t, ...(opts.source && { target: opts.source }), ...(opts.contacts && { contacts: opts.contacts }) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer().catch(() => undefined);
    return res.ok ? { ok: true } : { ok: false, why: `HTTP ${res.status}`, retry: res.status >= 500 || res.status === 429 };
  };
  const queue = deliveryQueue(post, {
    attempts: opts.attempts,
    backoffMs: opts.backoffMs,
    maxQueue: opts.maxQueue,
    closeWaitMs: timeoutMs,
    warn: opts.onWarning ?? ((m) => process.stderr.write(`pgharden monitor: webhook: ${m}\n`)),
    describe: (t) => `${t.state} ${t.rule}`,
  });
  return { transition: (t) => queue.push(t), close: () => queue.close() };
}
