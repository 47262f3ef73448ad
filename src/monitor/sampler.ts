import type { Target } from '../pg/target.js';
import { LazySession } from './lazy-session.js';
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
 * ends it (57P01, restart, network loss), and reconnects on the next call. Every failure
 * surfaces as a rejected promise, never as an uncaught event; a poll the network never
 * answers fails after the statement timeout + 2 s.
 *
 * Library API: `const s = createSampler(target); await s.sample(); … await s.close()`.
 */
export class Sampler {
  private readonly session: LazySession;
  private appliedAt: string | null = null;
  private appliedAtReadAt = -Infinity;

  constructor(readonly target: Target, private readonly opts: SamplerOptions = {}) {
    this.session = new LazySession(target, {
      appName: opts.appName ?? 'pgharden monitor',
      statementTimeoutMs: opts.statementTimeoutMs ?? 5_000,
      onLost: opts.onLost,
      onConnect: () => (this.appliedAtReadAt = -Infinity),
    });
  }

  get connected(): boolean {
    return this.session.connected;
  }

  async sample(): Promise<Sample> {
    return this.session.use(async (client) => {
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
    return this.session.use((client) => recycleIdleSessions(client, this.target.database, appliedAt, opts));
  }

  /**
   * Whether this role sees every session's state, times and query (superuser, or a member of
   * pg_read_all_stats, which pg_monitor includes); without it, other roles' sessions are
   * counted but cannot raise session alerts.
   */
  async seesAllSessions(): Promise<boolean> {
    return this.session.use(async (client) => {
      const { rows } = await client.query(
        `SELECT rolsuper OR pg_has_role('pg_read_all_stats', 'MEMBER') AS ok FROM pg_roles WHERE rolname = current_user`,
      );
      return Boolean(rows[0]?.ok);
    });
  }

  close(): Promise<void> {
    return this.session.close();
  }
}

export const createSampler = (target: Target, opts?: SamplerOptions) => new Sampler(target, opts);
