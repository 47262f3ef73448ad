import { parsePercent } from '../policy/duration.js';

/** One wave of a plan: how many targets, and how many failures stop the fleet. */
export interface WavePlan {
  wave: number;
  size: number;
  /** The fleet stops as soon as this many targets of the wave have failed. */
  maxFailures: number;
}

/**
 * Cumulative wave sizes (`[1, 10%, 50%, 100%]` of N targets) into waves of their own sizes.
 * A share rounds up (10% of 5 is 1); a wave that adds nobody is dropped; the last wave always
 * reaches every target (a list ending below 100% gets the rest as one more wave).
 */
export function planWaves(total: number, spec: (number | string)[], maxFailures: number | string): WavePlan[] {
  const waves: WavePlan[] = [];
  let done = 0;
  const cumulative = spec.map((v) => (typeof v === 'number' ? v : Math.ceil(parsePercent(v)! * total - 1e-9)));
  for (const upTo of [...cumulative, total]) {
    const reach = Math.min(total, upTo);
    if (reach <= done) continue;
    waves.push({ wave: waves.length + 1, size: reach - done, maxFailures: 0 });
    done = reach;
  }
  for (const w of waves) w.maxFailures = failureThreshold(w.size, maxFailures);
  return waves;
}

/** A count as written; a share of the wave rounded up, at least 1 (one failed canary stops a 10% budget). */
export function failureThreshold(size: number, maxFailures: number | string): number {
  if (typeof maxFailures === 'number') return maxFailures;
  return Math.max(1, Math.ceil(parsePercent(maxFailures)! * size - 1e-9));
}

/** The wave of each position 0…total-1. */
export function waveOf(waves: WavePlan[]): number[] {
  return waves.flatMap((w) => Array.from({ length: w.size }, () => w.wave));
}
