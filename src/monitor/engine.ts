import { evaluate, SEVERITY_RANK, type AlertRule, type Condition } from './rules.js';
import type { Sample } from './sample.js';

/** An alert that is firing: the condition as last seen, and when it started. */
export interface Alert extends Condition {
  /** Server time of the first sample that saw it. */
  since: string;
}

export interface AlertTransition extends Alert {
  type: 'alert';
  state: 'firing' | 'resolved';
  /** Server time of the sample that made the transition. */
  at: string;
}

/**
 * The alert lifecycle: a condition fires once when it first appears (per session, by
 * pid + backend_start, or per condition), stays firing silently while it holds, and
 * resolves once when a sample no longer shows it. Library API (guard reuses it):
 *
 *   const engine = new AlertEngine(rulesFromPolicy(policy.alerts));
 *   for each sample: for (const t of engine.update(sample)) …   // only the changes
 *   engine.firing()                                             // what is firing now
 *
 * The engine outlives connections: after a reconnect, alerts of sessions that died
 * with the server resolve on the first new sample, and new ones fire again.
 */
export class AlertEngine {
  private readonly active = new Map<string, Alert>();

  constructor(readonly rules: AlertRule[]) {}

  update(sample: Sample): AlertTransition[] {
    const now = new Map<string, Condition>();
    for (const rule of this.rules) for (const c of evaluate(rule, sample, (key) => this.active.has(key))) now.set(c.key, c);

    const transitions: AlertTransition[] = [];
    for (const [key, alert] of this.active) {
      if (now.has(key)) continue;
      this.active.delete(key);
      transitions.push({ type: 'alert', state: 'resolved', ...alert, at: sample.at });
    }
    for (const [key, condition] of now) {
      const known = this.active.get(key);
      const alert: Alert = { ...condition, since: known?.since ?? sample.at };
      this.active.set(key, alert);
      if (!known) transitions.push({ type: 'alert', state: 'firing', ...alert, at: sample.at });
    }
    return transitions;
  }

  /** Firing alerts, most severe and oldest first. */
  firing(): Alert[] {
    return [...this.active.values()].sort(
      (a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || a.since.localeCompare(b.since),
    );
  }
}
