import { mark, paint } from '../color.js';
import type { FleetStatus } from '../fleet/status.js';
import type { TargetState } from '../fleet/store.js';
import type { Log } from '../log.js';
import { formatDuration } from '../policy/duration.js';

const ORDER: TargetState[] = ['passed', 'running', 'pending', 'rolled_back', 'blocked', 'failed', 'needs_attention'];

function counts(c: Record<TargetState, number>): string {
  return (
    ORDER.filter((s) => c[s])
      .map((s) => `${c[s]} ${s.replace('_', ' ')}`)
      .join(' · ') || 'none'
  );
}

/** `fleet status` for a person: the fleet line, one line per wave, failures with reasons, what was left untouched. */
export function renderFleetStatus(log: Log, s: FleetStatus, opts: { targets?: boolean } = {}): void {
  const state = s.paused && s.status === 'running' ? `running, PAUSED${s.pausedBy ? ` (by ${s.pausedBy})` : ''}` : s.status.toUpperCase();
  log.info(
    `fleet ${s.fleet} (policy ${s.policySource}): ${state}${s.status === 'running' ? `, wave ${s.currentWave} of ${s.waves.length}` : ''}`,
  );
  if (s.stopReason) log.info(`  stopped: ${s.stopReason}`);
  for (const w of s.waves) {
    const icon = w.state === 'done' ? mark(!FAILED.some((f) => w.counts[f])) : w.state === 'running' ? paint.warn('…') : paint.dim('·');
    log.info(
      `  ${icon} wave ${String(w.wave).padEnd(3)} ${String(w.size).padStart(5)} target(s)  ${counts(w.counts)}  ${paint.dim(`(stops at ${w.maxFailures} failed)`)}`,
    );
  }
  log.info(`  total ${s.total}: ${counts(s.counts)}`);
  if (s.failures.length) {
    log.info('failures:');
    for (const f of s.failures) {
      log.info(
        `  ${mark(false)} ${f.key} (wave ${f.wave}): ${f.state.replace('_', ' ')}${f.rolledBack ? ', its changes restored' : ''} — ${f.reason}${f.runId ? paint.dim(`  run ${f.runId}`) : ''}`,
      );
    }
  }
  if (s.untouched.length && (s.status === 'stopped' || s.paused)) {
    const shown = s.untouched.slice(0, 10);
    log.info(`left untouched (${s.untouched.length}): ${shown.join(', ')}${s.untouched.length > shown.length ? ', …' : ''}`);
  }
  for (const w of s.workers) log.info(paint.dim(`  worker ${w.worker}: ${w.targets} target(s) in hand, lease until ${w.leaseUntil}`));
  const expired = s.targets.filter((t) => t.leaseExpired);
  if (expired.length)
    log.info(`  ${expired.length} claim(s) expired (a worker died?): \`pgharden fleet resume\` finishes them from their journals`);
  if (opts.targets) {
    for (const t of s.targets) {
      log.info(
        `  wave ${t.wave}  ${t.state.padEnd(15)} ${t.key}${t.ms !== null ? `  ${formatDuration(t.ms)}` : ''}${t.runId ? paint.dim(`  run ${t.runId}`) : ''}`,
      );
    }
  }
}

const FAILED: TargetState[] = ['rolled_back', 'blocked', 'failed', 'needs_attention'];

/** One line per target as a worker records it. */
export function targetLine(
  key: string,
  wave: number,
  state: string,
  d: { runId: string | null; error: string | null; ms: number },
): string {
  const ok = state === 'passed';
  const icon = state === 'interrupted' || state === 'lost' ? paint.warn('!') : mark(ok);
  return `  ${icon} wave ${wave}  ${key}  ${state.replace('_', ' ')} in ${formatDuration(d.ms)}${d.error ? ` — ${d.error}` : ''}${d.runId ? paint.dim(`  run ${d.runId}`) : ''}`;
}
