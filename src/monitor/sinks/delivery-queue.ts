/** The outcome of one delivery attempt. */
export type Attempt = { ok: true } | { ok: false; why: string; retry: boolean };

export interface DeliveryOptions<T> {
  /** Attempts per item (first try included). */
  attempts?: number;
  /** First retry delay (ms); doubles each time. */
  backoffMs?: number;
  /** Items kept waiting at most; the oldest are dropped beyond it (a dead endpoint must not eat memory). */
  maxQueue?: number;
  /** How long close() waits for what is still queued (ms). */
  closeWaitMs?: number;
  warn: (message: string) => void;
  /** `firing long_query`: names an item in warnings. */
  describe: (item: T) => string;
}

export interface DeliveryQueue<T> {
  /** Queue an item; returns at once. */
  push(item: T): void;
  /** Give queued items a last chance (closeWaitMs), without further retries. */
  close(): Promise<void>;
}

/**
 * In-order background delivery with retries and exponential backoff, for sinks whose I/O
 * may be slow or down (webhook, the alerts table): push() never waits, so a poll never does.
 */
export function deliveryQueue<T>(deliver: (item: T) => Promise<Attempt>, opts: DeliveryOptions<T>): DeliveryQueue<T> {
  const attempts = opts.attempts ?? 5;
  const backoff = opts.backoffMs ?? 500;
  const maxQueue = opts.maxQueue ?? 1_000;
  const queue: T[] = [];
  let worker: Promise<void> | null = null;
  let closing = false;

  const send = async (item: T): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      let result: Attempt;
      try {
        result = await deliver(item);
      } catch (err) {
        result = { ok: false, why: (err as Error).message, retry: true };
      }
      if (result.ok) return;
      if (!result.retry) return opts.warn(`${opts.describe(item)} rejected (${result.why}); not retried`);
      if (attempt >= attempts || closing)
        return opts.warn(`${opts.describe(item)} not delivered after ${attempt} attempt(s): ${result.why}`);
      await new Promise((r) => setTimeout(r, backoff * 2 ** (attempt - 1)));
    }
  };

  const drain = async () => {
    while (queue.length) await send(queue.shift()!);
    worker = null;
  };

  return {
    push(item) {
      queue.push(item);
      if (queue.length > maxQueue) opts.warn(`queue full: dropped ${queue.splice(0, queue.length - maxQueue).length} old item(s)`);
      worker ??= drain();
    },
    async close() {
      closing = true;
      if (worker) await Promise.race([worker, new Promise((r) => setTimeout(r, opts.closeWaitMs ?? 5_000).unref())]);
    },
  };
}
