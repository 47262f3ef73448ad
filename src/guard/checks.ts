import { exec } from 'node:child_process';
import { withClient } from '../pg/client.js';
import type { Target } from '../pg/target.js';
import type { Policy } from '../policy/schema.js';

export type UserCheck = Policy['rollback_triggers']['checks'][number];

const CHECK_TIMEOUT_MS = 30_000;

/**
 * Run one "critical business process" check. SQL runs on a fresh session exactly as the
 * application would get it (the new settings apply); a command must exit 0.
 * Resolves to null on success, or to the reason it failed.
 */
export async function runCheck(target: Target, check: UserCheck): Promise<string | null> {
  if (check.sql) {
    try {
      await withClient(target, (c) => c.query(check.sql!), { raw: true, appName: `pgharden check ${check.name}` });
      return null;
    } catch (err) {
      const e = err as { code?: string; message: string };
      return `${e.message}${e.code ? ` (SQLSTATE ${e.code})` : ''}`;
    }
  }
  return new Promise((resolve) => {
    exec(check.command!, { timeout: CHECK_TIMEOUT_MS }, (err, _stdout, stderr) => {
      if (!err) return resolve(null);
      const why = err.killed ? `timed out after ${CHECK_TIMEOUT_MS / 1000}s` : `exit ${err.code}`;
      resolve(`${why}${stderr.trim() ? `: ${stderr.trim().split('\n').pop()}` : ''}`);
    });
  });
}

export async function runChecks(target: Target, checks: UserCheck[]): Promise<{ name: string; error: string }[]> {
  const results = await Promise.all(checks.map(async (c) => ({ name: c.name, error: await runCheck(target, c) })));
  return results.filter((r): r is { name: string; error: string } => r.error !== null);
}
