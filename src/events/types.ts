/**
 * The run-level event stream: what `run`, `apply`, `rollback` and `guard` tell while they work,
 * as data. One producer (the stage code, through `ctx.events`), several consumers: the terminal
 * checklist (src/cli/checklist.ts), `--events FILE` (JSON lines), the journal (pgharden.events)
 * and the dashboard (`pgharden serve`, which tails the journal).
 *
 * The union is discriminated by `type`; every consumer switches on it, so a new event type is
 * a compile error wherever it is not handled (see `assertNever`).
 */

export type EventCommand = 'run' | 'apply' | 'rollback' | 'guard';

/** A rollback trigger as measured at one guard reading: the value, and what it is compared with. */
export interface TriggerReading {
  trigger: 'timeout_errors_increase' | 'latency_degradation' | 'pool_exhaustion' | 'checks';
  fired: boolean;
  measured: boolean;
  /** Baseline value (a share for timeout errors, ms for latency), null when none. */
  before: number | null;
  /** Value in the window so far. */
  after: number | null;
  /** The policy's limit: a share (points for errors, ratio for latency) or on/off. */
  threshold: number | boolean | null;
  summary: string;
}

/** One series point with the line it must stay under (null: not measured yet). */
export interface Measured {
  value: number | null;
  /** The value at which the trigger fires (baseline + allowed increase). */
  limit: number | null;
}

export type RunEventBody =
  | { type: 'run.started'; command: EventCommand; database: string; policySource: string; resumed?: boolean }
  | { type: 'run.id'; runId: string }
  | { type: 'stage.started'; stage: string; what: string }
  | { type: 'stage.finished'; stage: string; ok: boolean; skipped?: boolean; ms: number; summary: string }
  | { type: 'probe.progress'; stage: string; running: string[]; remainingMs: number }
  | { type: 'change.applied'; step: string; sql: string; attempts: number; ms: number }
  | {
      type: 'guard.started';
      windowMs: number;
      intervalMs: number;
      triggers: { timeoutErrorsIncrease: number; latencyDegradation: number; poolExhaustion: boolean };
    }
  | {
      type: 'guard.sample';
      elapsedMs: number;
      windowMs: number;
      connections: number;
      connectionLimit: number;
      /** pool_exhaustion counts readings at or above this many connections (95 % of the limit). */
      saturationAt: number;
      /** Failed-transaction rate in the window (share) and where timeout_errors_increase fires. */
      failureRate: Measured;
      /** p95 of the latest load sample (ms) and where latency_degradation would call it slower (needs --load). */
      p95Ms: Measured;
      triggers: TriggerReading[];
    }
  | { type: 'guard.connection'; state: 'lost' | 'recovered'; elapsedMs: number; error?: string }
  | {
      type: 'alert.fired' | 'alert.resolved';
      rule: string;
      severity: string;
      key: string;
      message: string;
      value: number;
      threshold: number;
      elapsedMs: number;
    }
  | {
      type: 'trigger.fired';
      trigger: TriggerReading['trigger'];
      summary: string;
      before: number | null;
      after: number | null;
      threshold: number | boolean | null;
    }
  | { type: 'rollback.step'; step: string; sql: string; ok: boolean; error?: string }
  | { type: 'report.written'; files: Record<string, string> }
  | { type: 'action.requested'; action: 'rollback'; by: string; from: string }
  | { type: 'run.outcome'; outcome: string; state: string | null; error: string | null; next: string | null };

export type RunEventType = RunEventBody['type'];

/** What every consumer receives: the body, stamped by the stream. */
export type RunEvent = RunEventBody & {
  /** Order within this process's stream, from 1. */
  seq: number;
  at: string;
  /** Null until the run has an id (the start of preflight). */
  runId: string | null;
  command: EventCommand;
};

export function assertNever(x: never): never {
  throw new Error(`unhandled event ${JSON.stringify(x)}`);
}
