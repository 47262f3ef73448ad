import type { Check } from '../verify.js';

export type ProbeKind =
  | 'statement_timeout'
  | 'idle_in_transaction_session_timeout'
  | 'transaction_timeout'
  | 'idle_session_timeout'
  | 'connection_limit';

export type ProbeStatus = 'passed' | 'failed' | 'skipped';

/**
 * One functional probe: a Check (so verify renders it like the others) plus what was measured.
 * `ok` is true only when the probe ran and passed: a skipped probe is never reported as passed.
 */
export interface ProbeResult extends Check {
  probe: ProbeKind;
  status: ProbeStatus;
  /** Who the probe logged in as: `postgres://role@host:port/db` (never a password). */
  as: string;
  /** The limit under test, in ms (timeouts) or connections (connection_limit). */
  limit?: number;
  /** Time from the moment the limit started counting to the server's error, in ms. */
  measuredMs?: number;
  toleranceMs?: number;
  /** SQLSTATE the server answered with, if any. */
  sqlstate?: string;
  /** connection_limit: sessions admitted before 53300, and how many the limit should have admitted. */
  admitted?: number;
  expectedAdmitted?: number;
}

/** Progress while probes wait: what is still running and when the last one must be done. */
export interface ProbeProgress {
  running: string[];
  /** ms until the slowest running probe gives up. */
  remainingMs: number;
}

export function probeResult(base: Omit<ProbeResult, 'ok'>): ProbeResult {
  return { ...base, ok: base.status === 'passed' };
}

export function skipped(probe: ProbeKind, as: string, reason: string, setting: string = probe): ProbeResult {
  return probeResult({
    probe,
    as,
    status: 'skipped',
    name: `${probe} probe as ${as}`,
    setting,
    message: `skipped ${probe} probe as ${as}: ${reason}`,
  });
}

/** How long past the limit the server may take and still pass: 10% of it, at least 500 ms. */
export function toleranceFor(limitMs: number): number {
  return Math.max(500, Math.round(limitMs * 0.1));
}

/**
 * The server arms a timer a moment before we can stamp the start (it sends ReadyForQuery first),
 * so a measured time may fall this much short of the limit and still be the limit at work.
 */
export const EARLY_SLACK_MS = 50;

/** Whether `measuredMs` is the limit at work: [limit − slack, limit + tolerance]. */
export const withinLimit = (measuredMs: number, limitMs: number, toleranceMs: number) =>
  measuredMs >= limitMs - EARLY_SLACK_MS && measuredMs <= limitMs + toleranceMs;

/** Measured times in results: 0.1 ms is plenty. */
export const roundMs = (ms: number) => Math.round(ms * 10) / 10;

export const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 3 : 1)}s`;
