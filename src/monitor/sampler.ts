import type { Target } from '../pg/target.js';
import { LazySession } from './lazy-session.js';
import { latestApplyTime, recycleIdleSessions, type Recycled } from './rollout.js';
import { LogScanner } from '../guard/log-scan.js';
import type { Policy } from '../policy/schema.js';
import { readConfigState, type ConfigState } from './config-state.js';
import { sampleOnce, type Sample, type SampleScope } from './sample.js';
import { poolerRollout, type PoolerRollout } from '../estate/poolers.js';

export interface SamplerOptions {
  /** statement_timeout of the monitor's own session (ms): a poll must never hang. */
  statementTimeoutMs?: number;
  appName?: string;
  /** How often the latest apply time is re-read (ms). */
  applyRefreshMs?: number;
  /** The server ended the session between polls (57P01, restart, network loss). */
  onLost?: (err: Error & { code?: string }) => void;
  /** The policy's settings: read with the apply time, they give settings gauges and per-role compliance. */
  policySettings?: Policy['settings'];
  /** A csvlog/jsonlog (or stderr) server log: errors counted by SQLSTATE from now on. */
  log?: LogScanner | null;
  /** The configuration could not be read (privileges): said once, polls go on without it. */
  onConfigError?: (err: Error) => void;
  /** PgBouncer admin consoles (policy poolers:): their server connections older than the apply count as on old settings. */
  poolers?: string[];
  /** 'instance': every database in each poll (monitor --all-databases, the live view's `a`). */
  scope?: SampleScope;
}

/** A sample with what the monitor reads less often than every poll (see Sample.config, Sample.logErrors). */
export type MonitorSample = Sample & { config: ConfigState | null; logErrors: Record<string, number> | null };

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
  private config: ConfigState | null = null;
  private configFailed = false;
  private poolers: { at: number; appliedAt: string; rollout: PoolerRollout[] } | null = null;
  /** Which databases the next poll covers (the live view switches it). */
  scope: SampleScope;

  constructor(
    readonly target: Target,
    private readonly opts: SamplerOptions = {},
  ) {
    this.scope = opts.scope ?? 'database';
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

  async sample(): Promise<MonitorSample> {
    const sample = await this.session.use(async (client) => {
      if (performance.now() - this.appliedAtReadAt > (this.opts.applyRefreshMs ?? 10_000)) {
        this.appliedAt = await latestApplyTime(client, this.target.database);
        if (this.opts.policySettings) await this.readConfig(client);
        this.appliedAtReadAt = performance.now();
      }
      const s = await sampleOnce(client, this.target.database, { appliedAt: this.appliedAt, scope: this.scope });
      if (s.rollout && this.opts.poolers?.length) s.rollout.poolers = await this.poolerRollout(client, s.rollout.appliedAt);
      return s;
    });
    const log = this.opts.log ? (await this.opts.log.scan()).bySqlstate : null;
    return { ...sample, config: this.config, logErrors: log };
  }

  /** SHOW SERVERS on each PgBouncer, at most every applyRefreshMs (a new admin-console login each time). */
  private async poolerRollout(client: Parameters<Parameters<LazySession['use']>[0]>[0], appliedAt: string): Promise<PoolerRollout[]> {
    const fresh =
      this.poolers &&
      this.poolers.appliedAt === appliedAt &&
      performance.now() - this.poolers.at < (this.opts.applyRefreshMs ?? 10_000) / 2;
    if (!fresh)
      this.poolers = {
        at: performance.now(),
        appliedAt,
        rollout: await poolerRollout(this.opts.poolers!, this.target.database, appliedAt, client),
      };
    return this.poolers!.rollout;
  }

  private async readConfig(client: Parameters<Parameters<LazySession['use']>[0]>[0]): Promise<void> {
    try {
      this.config = await readConfigState(client, this.target.database, { settings: this.opts.policySettings! });
    } catch (err) {
      if ((err as { code?: string }).code === undefined || !/^[0-9A-Z]{5}$/.test((err as { code: string }).code)) throw err;
      this.config = null;
      if (!this.configFailed) this.opts.onConfigError?.(err as Error);
      this.configFailed = true;
    }
  }

  /** End idle sessions still on the pre-apply settings (see recycleIdleSessions). */
  async recycleIdle(opts: { max: number; minIdleMs: number }): Promise<Recycled[]> {
    const appliedAt = this.appliedAt;
    if (!appliedAt) return [];
    return this.session.use((client) => recycleIdleSessions(client, this.target.database, appliedAt, opts));
  }

  /**
   * pg_cancel_backend / pg_terminate_backend of one session, never the monitor's own (checked
   * in the same statement, against pg_backend_pid()). Needs pg_signal_backend, or the same role.
   */
  async signalBackend(pid: number, action: 'cancel' | 'terminate'): Promise<string> {
    if (!Number.isInteger(pid) || pid <= 0) return `refused: ${pid} is not a backend pid`;
    try {
      const { rows } = await this.session.use((client) =>
        client.query(
          `SELECT pg_backend_pid() AS me,
                CASE WHEN $1::int = pg_backend_pid() THEN NULL
                     WHEN $2 THEN pg_terminate_backend($1::int) ELSE pg_cancel_backend($1::int) END AS sent`,
          [pid, action === 'terminate'],
        ),
      );
      if (rows[0].me === pid) return `refused: pid ${pid} is this monitor's own session`;
      return rows[0].sent ? `${action} sent to pid ${pid}` : `pid ${pid} is no longer there: nothing to ${action}`;
    } catch (err) {
      return `${action} of pid ${pid} failed: ${(err as Error).message}`;
    }
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
