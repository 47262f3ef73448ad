import { formatDuration } from '../policy/duration.js';

/** A running time as a monitor shows it: `850ms`, `25.2s`, `1m06s`, `2h03m`. */
export function elapsed(ms: number): string {
  if (ms < 60_000) return formatDuration(ms);
  const s = Math.floor(ms / 1000);
  const two = (n: number) => String(n).padStart(2, '0');
  return s < 3600 ? `${Math.floor(s / 60)}m${two(s % 60)}s` : `${Math.floor(s / 3600)}h${two(Math.floor(s / 60) % 60)}m`;
}
