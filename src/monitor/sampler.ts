import { connect, isConnectFailure, type Client } from '../pg/client.js';
import type { Target } from '../pg/target.js';
import { latestApplyTime, recycleIdleSessions, type Recycled } from './rollout.js';
import { sampleOnce, type Sample } from './sample.js';

export interface SamplerOptions {
  /** statement_timeout of the monitor's own session (ms): a poll must never hang. */
  statementTimeoutMs?: number;
  appName?: string;
  /** How often the latest apply time is re-read (ms). */
  applyRefreshMs?: number;
  /** The server ended the session between polls (57P01, restart, network loss). */
  onLost?: (err: Error & { code?: string }) => void;
}

/**
 * Owns the monitor's session: connects lazily, forgets the session as soon as the server
 * ends it (57P01, restart, network loss: the 'error' event), and reconnects on the next
 * call. Every failure surfaces as a rejected promise, never as an uncaught event.
 *
 * Library API: `const s = createSampler(target); await s.sample(); … await s.close()`.
 */
export class Sampler {
  private client: Client | null = null;
  private appliedAt: string | null = null;
  private appliedAtReadAt = -Infinity;

  constructor(readonly target: Target, private readonly opts: SamplerOptions = {}) {}

  get connected(): boolean {
    return this.client !== null;
  }

  async sample(): Promise<Sample> {
    return this.use(async (client) => {
      if (performance.now() - this.appliedAtReadAt > (this.opts.applyRefreshMs ?? 10_000)) {
        this.appliedAt = await latestApplyTime(client, this.target.database);
        this.appliedAtReadAt = performance.now();
      }
      return sampleOnce(client, this.target.database, { appliedAt: this.appliedAt });
    });
  }

  /** End idle sessions still on the pre-apply settings (see recycleIdleSessions). */
  async recycleIdle(opts: { max: number; minIdleMs: number }): Promise<Recycled[]> {
    const appliedAt = this.appliedAt;
    if (!appliedAt) return [];
    return this.use((client) => recycleIdleSessions(client, this.target.database, appliedAt, opts));
  }

  /**
   * Whether this role sees every session's state, times and query (superuser, or a member of
   * pg_read_all_stats, which pg_monitor includes); without it, other roles' sessions are
   * counted but cannot raise session alerts.
   */
  async seesAllSessions(): Promise<boolean> {
    return this.use(async (client) => {
      const { rows } = await client.query(
        `SELECT rolsuper OR pg_has_role('pg_read_all_stats', 'MEMBER') AS ok FROM pg_roles WHERE rolname = current_user`,
      );
      return Boolean(rows[0]?.ok);
    });
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    // end() waits for the server's goodbye, which a dead network never sends.
    if (client) await Promise.race([client.end().catch(() => undefined), new Promise((r) => setTimeout(r, 1_000).unref())]);
  }

  private async use<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    if (!this.client) {
      const client: Client = await connect(this.target, {
        appName: this.opts.appName ?? 'pgharden monitor',
        statementTimeoutMs: this.opts.statementTimeoutMs ?? 5_000,
        onError: (err) => {
          if (this.client !== client) return;
          void this.close();
          this.opts.onLost?.(err);
        },
      });
      this.client = client;
      this.appliedAtReadAt = -Infinity;
    }
    const client = this.client;
    // statement_timeout is enforced by the server: when the network silently drops our
    // packets, only a client-side deadline notices. Cutting the socket makes pg reject
    // the pending query, and the next call reconnects.
    const limitMs = (this.opts.statementTimeoutMs ?? 5_000) + 2_000;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`no answer from the server for ${limitMs / 1000}s: network down?`));
        (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
      }, limitMs);
    });
    try {
      return await Promise.race([fn(client), deadline]);
    } catch (err) {
      // A lost session (or an unknown failure) is not worth keeping: start clean on the next call.
      // A plain SQL error (privilege, timeout of this statement) leaves the session usable.
      const code = (err as { code?: string }).code ?? '';
      if (isConnectFailure(err) || !/^[0-9A-Z]{5}$/.test(code)) await this.close();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}

export const createSampler = (target: Target, opts?: SamplerOptions) => new Sampler(target, opts);
