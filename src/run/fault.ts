import fs from 'node:fs';

/**
 * Crash injection for the reliability suite (never set in production). Every journaled step
 * calls faultPoint right after it commits:
 * - PGHARDEN_FAULT_LIST=<file> appends each step's name, so a test can list every injection point;
 * - PGHARDEN_FAULT=<step> makes the process SIGKILL itself there: no cleanup, no finally, no exit hook.
 */
export function faultPoint(step: string): void {
  const list = process.env.PGHARDEN_FAULT_LIST;
  if (list) fs.appendFileSync(list, step + '\n');
  if (process.env.PGHARDEN_FAULT === step) process.kill(process.pid, 'SIGKILL');
}
