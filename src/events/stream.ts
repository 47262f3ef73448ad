import type { EventCommand, RunEvent, RunEventBody } from './types.js';

/** A consumer of the stream. `close` is awaited when the command ends (flush files, journal rows). */
export interface EventSink {
  write(event: RunEvent): void;
  close?(): Promise<void>;
}

/**
 * The producer side: stage code calls `emit` and never waits on a consumer (a slow disk or a
 * journal insert must not stretch a guard window). Sinks do their own buffering and report
 * their own failures; a sink that throws is dropped with one warning, the run goes on.
 */
export class EventStream {
  private seq = 0;
  private id: string | null = null;
  private readonly sinks: EventSink[] = [];

  constructor(
    readonly command: EventCommand,
    private readonly warn: (message: string) => void = () => undefined,
  ) {}

  add(sink: EventSink): this {
    this.sinks.push(sink);
    return this;
  }

  get runId(): string | null {
    return this.id;
  }

  /** The run got its id (preflight created it): later events carry it, and consumers hear of it once. */
  setRunId(runId: string): void {
    if (this.id === runId) return;
    this.id = runId;
    this.emit({ type: 'run.id', runId });
  }

  emit(body: RunEventBody): void {
    const event = { ...body, seq: ++this.seq, at: new Date().toISOString(), runId: this.id, command: this.command } as RunEvent;
    for (const sink of [...this.sinks]) {
      try {
        sink.write(event);
      } catch (err) {
        this.sinks.splice(this.sinks.indexOf(sink), 1);
        this.warn(`an event consumer failed and was dropped: ${(err as Error).message}`);
      }
    }
  }

  async close(): Promise<void> {
    for (const sink of this.sinks) await sink.close?.().catch((err) => this.warn(`events: ${(err as Error).message}`));
  }
}
