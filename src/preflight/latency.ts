import type { Client } from '../pg/client.js';

export interface LatencySample {
  samples: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

export function summarise(durations: number[]): LatencySample {
  const sorted = [...durations].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 1000) / 1000;
  return {
    samples: sorted.length,
    p50Ms: round(percentile(sorted, 0.5)),
    p95Ms: round(percentile(sorted, 0.95)),
    p99Ms: round(percentile(sorted, 0.99)),
    maxMs: round(sorted[sorted.length - 1] ?? 0),
  };
}

/** Round-trip time of a trivial query, `runs` times on one session: the short latency probe of the baseline. */
export async function probeLatency(client: Client, runs = 200): Promise<LatencySample> {
  const durations: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await client.query('SELECT 1');
    durations.push(performance.now() - t);
  }
  return summarise(durations);
}
