import type { ProbeProgress } from '../verify/probes/types.js';

/** A one-line countdown on a terminal while probes wait; nothing at all otherwise (scripts, --json). */
export function probeCountdown(json: boolean): { onProgress?: (p: ProbeProgress) => void; done(): void } {
  const tty = process.stderr.isTTY && !json;
  if (!tty) return { done: () => undefined };
  let shown = false;
  return {
    onProgress(p) {
      shown = true;
      const line = `probes: ${p.running.length} waiting, done in ≤ ${(p.remainingMs / 1000).toFixed(1)}s (${p.running.join(', ')})`;
      process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns || 100) - 1)}`);
    },
    done() {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}
