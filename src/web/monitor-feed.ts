import { AlertEngine } from '../monitor/engine.js';
import { LazySession } from '../monitor/lazy-session.js';
import { latestApplyTime } from '../monitor/rollout.js';
import { rulesFromPolicy } from '../monitor/rules.js';
import { sampleOnce } from '../monitor/sample.js';
import type { StageContext } from '../stage.js';

/** What the monitor view draws: one sample of the database against the policy's alert thresholds. */
export interface MonitorSnapshot {
  at: string;
  database: string;
  connections: { total: number; byState: Record<string, number>; limit: number; limitSource: string; alertShare: number | null };
  longestQueryMs: number;
  longQueryThresholdMs: number | null;
  longestIdleInTransactionMs: number;
  idleThresholdMs: number | null;
  alerts: { rule: string; severity: string; message: string; since: string; value: number; threshold: number }[];
  /** Sessions started before the latest apply: they still run on the old settings. */
  rollout: { appliedAt: string; onOldSettings: number; idleOnOldSettings: number; sessions: number } | null;
  oldSessions: { pid: number; usename: string | null; applicationName: string; state: string; backendStart: string }[];
  error: string | null;
}

/**
 * The monitor's sampling (src/monitor: sampleOnce + AlertEngine, the same rules as `monitor`),
 * on its own session, every `intervalMs` while someone watches. A lost server is a snapshot with
 * an error, and the next tick tries again.
 */
export class MonitorFeed {
  private readonly session: LazySession;
  private readonly engine: AlertEngine;
  private timer: NodeJS.Timeout | null = null;
  private watchers = 0;
  latest: MonitorSnapshot | null = null;

  constructor(
    private readonly ctx: StageContext,
    private readonly onSnapshot: (s: MonitorSnapshot) => void,
    private readonly intervalMs = 1000,
  ) {
    this.session = new LazySession(ctx.target, { appName: 'pgharden serve monitor', statementTimeoutMs: 10_000 });
    this.engine = new AlertEngine(rulesFromPolicy(ctx.policy.alerts));
  }

  /** Sampling runs only while at least one page watches (returns the unwatch function). */
  watch(): () => void {
    if (this.watchers++ === 0) this.tick();
    return () => {
      if (--this.watchers === 0 && this.timer) {
        clearTimeout(this.timer);
        this.timer = null;
      }
    };
  }

  private tick(): void {
    void this.sample()
      .then((s) => {
        this.latest = s;
        this.onSnapshot(s);
      })
      .finally(() => {
        if (this.watchers > 0) this.timer = setTimeout(() => this.tick(), this.intervalMs);
      });
  }

  async sample(): Promise<MonitorSnapshot> {
    const db = this.ctx.target.database;
    const rules = this.engine.rules;
    const over = (name: string) =>
      rules
        .filter((r) => r.name === name)
        .map((r) => r.over)
        .sort((a, b) => a - b)[0] ?? null;
    const empty = {
      at: new Date().toISOString(),
      database: db,
      longQueryThresholdMs: over('long_query'),
      idleThresholdMs: over('idle_in_transaction'),
    };
    try {
      const s = await this.session.use(async (c) => sampleOnce(c, db, { appliedAt: await latestApplyTime(c, db) }));
      this.engine.update(s);
      return {
        ...empty,
        at: s.at,
        connections: {
          total: s.connections.total,
          byState: s.connections.byState,
          limit: s.connections.limit,
          limitSource: s.connections.limitSource,
          alertShare: over('connections'),
        },
        longestQueryMs: s.longestActiveMs,
        longestIdleInTransactionMs: s.longestIdleInTransactionMs,
        alerts: this.engine
          .firing()
          .map((a) => ({ rule: a.rule, severity: a.severity, message: a.message, since: a.since, value: a.value, threshold: a.threshold })),
        rollout: s.rollout,
        oldSessions: s.sessions
          .filter((x) => x.onOldSettings)
          .slice(0, 20)
          .map((x) => ({
            pid: x.pid,
            usename: x.usename,
            applicationName: x.applicationName,
            state: x.state,
            backendStart: x.backendStart,
          })),
        error: null,
      };
    } catch (err) {
      return {
        ...empty,
        connections: { total: 0, byState: {}, limit: 0, limitSource: 'unknown', alertShare: over('connections') },
        longestQueryMs: 0,
        longestIdleInTransactionMs: 0,
        alerts: this.engine.firing().map((a) => ({ ...a, message: a.message })),
        rollout: null,
        oldSessions: [],
        error: (err as Error).message,
      };
    }
  }

  async close(): Promise<void> {
    this.watchers = 0;
    if (this.timer) clearTimeout(this.timer);
    await this.session.close();
  }
}
