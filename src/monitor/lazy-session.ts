import { connect, isConnectFailure, type Client } from '../pg/client.js';
import type { Target } from '../pg/target.js';
import { endQuickly, withDeadline } from './deadline.js';

export interface LazySessionOptions {
  appName: string;
  /** statement_timeout of the session (ms); the client-side deadline is 2 s more. */
  statementTimeoutMs: number;
  /** The server ended the session between calls (57P01, restart, network loss). */
  onLost?: (err: Error & { code?: string }) => void;
  /** A new session was opened (first time or after a loss). */
  onConnect?: () => void;
}

/** True when an error means the session is gone (or in an unknown state), not just that one statement failed. */
export const sessionBroken = (err: unknown): boolean =>
  isConnectFailure(err) || !/^[0-9A-Z]{5}$/.test((err as { code?: string }).code ?? '');

/**
 * A session opened on first use and reopened on the next use after it broke: every failure
 * surfaces as a rejected promise of use(), never as an uncaught 'error' event. A plain SQL
 * error (privilege, this statement's timeout) keeps the session.
 */
export class LazySession {
  private client: Client | null = null;

  constructor(
    readonly target: Target,
    private readonly opts: LazySessionOptions,
  ) {}

  get connected(): boolean {
    return this.client !== null;
  }

  async use<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    if (!this.client) {
      const client: Client = await connect(this.target, {
        appName: this.opts.appName,
        statementTimeoutMs: this.opts.statementTimeoutMs,
        onError: (err) => {
          if (this.client !== client) return;
          void this.close();
          this.opts.onLost?.(err);
        },
      });
      this.client = client;
      this.opts.onConnect?.();
    }
    try {
      return await withDeadline(this.client, this.opts.statementTimeoutMs + 2_000, fn);
    } catch (err) {
      if (sessionBroken(err)) await this.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    if (client) await endQuickly(client);
  }
}
