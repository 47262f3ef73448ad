import type { Alert, AlertTransition } from '../engine.js';
import type { Sample, SampleScope } from '../sample.js';

/** Things the monitor reports besides samples and alerts. */
export type MonitorEvent =
  | { type: 'connected'; at: string; target: string; reconnected: boolean }
  /** The server ended the monitor's session between polls (57P01, restart, network loss). */
  | { type: 'connection_lost'; at: string; error: string; code?: string }
  /** A poll failed; `connectionLost` says whether the session went with it (restart, 57P01, network). */
  | { type: 'poll_failed'; at: string; error: string; code?: string; connectionLost: boolean; attempt: number; retryInMs: number }
  | { type: 'recycled'; at: string; pid: number; usename: string | null; backendStart: string }
  | { type: 'warning'; at: string; message: string };

/** What a sink may ask of the running monitor (the live view's actions). */
export interface MonitorControl {
  /** pg_cancel_backend / pg_terminate_backend over the monitor's session; refuses its own pid. Resolves with a line to show. */
  signalBackend(pid: number, action: 'cancel' | 'terminate'): Promise<string>;
  /** Poll one database or the whole instance from the next poll on. */
  setScope(scope: SampleScope): void;
}

/**
 * Where the monitor's output goes. Calls are synchronous and must not block the sampler:
 * a sink with slow I/O (webhook) queues and works in the background.
 */
export interface Sink {
  sample?(sample: Sample, firing: Alert[]): void;
  transition?(t: AlertTransition): void;
  event?(e: MonitorEvent): void;
  /** Called once before the first poll. */
  attach?(control: MonitorControl): void;
  /** Flush and release (files, servers, the terminal). */
  close?(): Promise<void> | void;
}
