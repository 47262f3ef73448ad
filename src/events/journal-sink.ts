import { connect, type Client } from '../pg/client.js';
import type { Target } from '../pg/target.js';
import { ensureEventsTable, insertEvents } from '../state/events.js';
import type { EventSink } from './stream.js';
import type { RunEvent } from './types.js';

/**
 * The journal consumer: every event of a run into pgharden.events as it happens.
 *
 * On its own session, never the run's: the run's session runs short transactions (each change
 * with its journal row) and an insert slipped in between would join, or abort, one of them.
 * Events before the run has an id are held and written with it. Writes are batched (whatever
 * queued while the previous insert ran) and strictly ordered. A journal that cannot be written
 * is warned about once; the run itself goes on — its own steps are journaled by the stages.
 */
export class JournalSink implements EventSink {
  private pending: RunEvent[] = [];
  private client: Client | null = null;
  private chain: Promise<void> = Promise.resolve();
  private busy = false;
  private failed = false;

  constructor(
    private readonly target: Target,
    private readonly warn: (message: string) => void,
  ) {}

  write(event: RunEvent): void {
    if (this.failed) return;
    this.pending.push(event);
    if (!event.runId) return;
    if (!this.busy) this.schedule();
  }

  private schedule(): void {
    this.busy = true;
    this.chain = this.chain
      .then(() => this.drain())
      .finally(() => {
        this.busy = false;
        // Emitted between the drain's last check and here: not left waiting for the next event.
        if (!this.failed && this.pending.some((e) => e.runId)) this.schedule();
      });
  }

  private async drain(): Promise<void> {
    while (this.pending.length && !this.failed) {
      const runId = this.pending.find((e) => e.runId)?.runId;
      if (!runId) return;
      const batch = this.pending.splice(0).map((e) => (e.runId ? e : { ...e, runId }));
      try {
        this.client ??= await this.open();
        await insertEvents(this.client, batch);
      } catch (err) {
        this.failed = true;
        this.pending = [];
        this.warn(
          `the live event journal (pgharden.events) stopped: ${(err as Error).message}; the run goes on, its steps are journaled as before`,
        );
      }
    }
  }

  private async open(): Promise<Client> {
    const client = await connect(this.target, {
      appName: 'pgharden events',
      statementTimeoutMs: 10_000,
      onError: (err) => {
        this.client = null;
        this.warn(`event journal session lost: ${err.message}`);
      },
    });
    await ensureEventsTable(client);
    return client;
  }

  async close(): Promise<void> {
    while (!this.failed && (this.busy || this.pending.some((e) => e.runId))) {
      if (!this.busy) this.schedule();
      await this.chain;
    }
    await this.client?.end().catch(() => undefined);
    this.client = null;
  }
}
