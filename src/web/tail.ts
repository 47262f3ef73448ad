import { connect, type Client } from '../pg/client.js';
import type { Target } from '../pg/target.js';
import { EVENTS_CHANNEL, eventsTableExists, lastEventId, readEvents, type StoredEvent } from '../state/events.js';

/**
 * Follows pgharden.events for the dashboard, whichever process (or machine) writes them:
 * LISTEN for the insert's notification, and a poll every `pollMs` as well, since a
 * notification is lost while the listening session reconnects and does not cross a pooler in
 * transaction mode. Reads are by id, so a notification and a poll never deliver an event twice.
 */
export class EventTail {
  private client: Client | null = null;
  private lastId = 0;
  private timer: NodeJS.Timeout | null = null;
  private reading: Promise<void> | null = null;
  private again = false;
  private closed = false;

  constructor(
    private readonly target: Target,
    private readonly onEvents: (events: StoredEvent[]) => void,
    private readonly pollMs = 2000,
  ) {}

  async start(): Promise<void> {
    await this.connect().catch(() => undefined); // the poll retries
    this.schedule();
  }

  get position(): number {
    return this.lastId;
  }

  private async connect(): Promise<void> {
    const client = await connect(this.target, {
      appName: 'pgharden serve events',
      statementTimeoutMs: 10_000,
      onError: () => {
        if (this.client === client) this.client = null;
        void client.end().catch(() => undefined);
      },
    });
    client.on('notification', (n) => {
      if (n.channel === EVENTS_CHANNEL) void this.read();
    });
    await client.query(`LISTEN ${EVENTS_CHANNEL}`);
    // Start at the newest event: history is read per run on request, the tail only brings news.
    if (!this.lastId && (await eventsTableExists(client))) this.lastId = await lastEventId(client);
    this.client = client;
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      void this.read().finally(() => this.schedule());
    }, this.pollMs);
  }

  /** Read what is new; a read asked for while one runs is done right after it. */
  read(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = (async () => {
      do {
        this.again = false;
        try {
          if (!this.client) await this.connect();
          if (!(await eventsTableExists(this.client!))) return;
          const events = await readEvents(this.client!, { afterId: this.lastId });
          if (events.length) {
            this.lastId = events.at(-1)!.id;
            this.onEvents(events);
          }
        } catch {
          const c = this.client;
          this.client = null;
          await c?.end().catch(() => undefined);
          return;
        }
      } while (this.again && !this.closed);
    })().finally(() => {
      this.reading = null;
    });
    return this.reading;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.reading;
    await this.client?.end().catch(() => undefined);
  }
}
