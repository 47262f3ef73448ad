import type { Alert, AlertTransition } from '../engine.js';
import type { Sample } from '../sample.js';

/** Things the monitor reports besides samples and alerts. */
export type MonitorEvent =
  | { type: 'connected'; at: string; target: string; reconnected: boolean }
  /** The server ended the monitor's session between polls (57P01, restart, network loss). */
  | { type: 'connection_lost'; at: string; error: string; code?: string }
  /** A poll failed; `connectionLost` says whether the session went with it (restart, 57P01, network). */
  | { type: 'poll_failed'; at: string; error: string; code?: string; connectionLost: boolean; attempt: number; retryInMs: number }
  | { type: 'recycled'; at: string; pid: number; usename: string | null; backendStart: string }
  | { type: 'warning'; at: string; message: string };

/**
 * Where the monitor's output goes. Calls are synchronous and must not block the sampler:
 * a sink with slow I/O (webhook) queues and works in the background.
 */
export interface Sink {
  sample?(sample: Sample, firing: Alert[]): void;
  transition?(t: AlertTransition): void;
  event?(e: MonitorEvent): void;
  /** Flush and release (files, servers, the terminal). */
  close?(): Promise<void> | void;
}
