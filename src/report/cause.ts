import type { TriggerResult } from '../guard/triggers.js';

/**
 * One sentence per fired trigger: what was measured, the numbers and the limit. The triggers'
 * own summaries carry every source and every bound (they stay in the trigger table); a reader of
 * the banner needs the source that fired, said short.
 */
export function causeOf(t: TriggerResult): string {
  if (t.requiredButNotMeasured) return `${t.trigger}: ${t.summary}`;
  const fired = t.sources.filter((s) => s.fired);
  if (t.trigger === 'latency_degradation') {
    const parts = fired.flatMap((s) => latencyParts(s.summary, s.source, typeof t.threshold === 'number' ? t.threshold : null));
    if (parts.length) return `${t.trigger} fired: ${parts.join('; ')}`;
  }
  if (t.trigger === 'checks') return `checks fired: ${t.summary.replace(/^check\(s\) failed: /, 'failed: ')}`;
  const first = fired[0];
  const others = fired.slice(1).map((s) => s.source);
  return `${t.trigger} fired: ${first ? first.summary : t.summary}${others.length ? `; ${others.join(' and ')} also over the limit (trigger table)` : ''}`;
}

/**
 * "median 0.81ms → 5.20ms (×6.40, 99% bounds ×5.10–×7.00; fires when the lower bound passes ×1.20 …)"
 * → "load sample median 0.81ms → 5.20ms (×6.40; limit ×1.20)". Only the comparisons that are over
 * their limit are kept; unparseable text is kept whole rather than lost.
 */
function latencyParts(summary: string, source: string, share: number | null): string[] {
  // The policy's share, and why the bar may sit higher (the machine's own noise and slowdown widen it).
  const policy = (limit: string) =>
    share === null
      ? ''
      : Math.abs(Number(limit) - (1 + share)) < 0.005
        ? ` = +${+(share * 100).toFixed(1)}%`
        : `: the policy's +${+(share * 100).toFixed(1)}%, widened by this machine's own spread`;
  const re =
    /(median|p\d+) ([\d.]+ms) → ([\d.]+ms) \(×([\d.]+), 99% bounds ×([\d.]+)–×[\d.]+; fires when the lower bound passes ×([\d.]+)/g;
  const out: string[] = [];
  for (const m of summary.matchAll(re)) {
    const [, which, before, after, ratio, lo, limit] = m;
    if (Number(lo) > Number(limit))
      out.push(
        `${source === 'load' ? 'load sample' : source} ${which} ${before} → ${after} (×${ratio}, 99% lower bound ×${lo}; limit ×${limit}${policy(limit)})`,
      );
  }
  if (out.length) return out;
  const mean = /mean ([\d.]+ms) → ([\d.]+ms) over (\d+) calls \(×([\d.]+), 99% lower bound ×([\d.]+); fires above ×([\d.]+)/.exec(summary);
  if (mean)
    return [
      `pg_stat_statements mean ${mean[1]} → ${mean[2]} over ${mean[3]} calls (×${mean[4]}, 99% lower bound ×${mean[5]}; limit ×${mean[6]})`,
    ];
  return [summary];
}

/** Why the run rolled back, or stopped: the fired triggers, else the error. */
export function causeSentence(fired: TriggerResult[], error: string | null | undefined): string | null {
  if (fired.length) return fired.map(causeOf).join('. ');
  return error ?? null;
}
