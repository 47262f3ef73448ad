import type { Policy } from '../policy/schema.js';
import { planSql, type Plan } from './plan.js';

export interface RenderedMigration {
  forward: string;
  rollback: string;
}

/**
 * The plan as psql-ready files. The rollback restores the values captured when rendering;
 * no timestamps, so the same state and policy render the same bytes.
 */
export function renderMigration(plan: Plan, policy: Policy, name: string): RenderedMigration {
  const { forward, rollback, records } = planSql(plan);
  const captured = records.map((r) => `--   ${r.name}: ${r.before === null ? '(not set at database level)' : r.before}`);
  const head = (file: string, what: string) => [
    `-- ${file}: ${what}`,
    `-- Rendered by \`pgharden render\` from policy ${policy.source}. Do not edit: render again.`,
    `-- Apply with: psql -v ON_ERROR_STOP=1 -d <database> -f ${file}`,
    '-- ALTER DATABASE ... SET takes effect for NEW sessions only; check with `pgharden verify`.',
  ];
  const body = (statements: string[]) => ['BEGIN;', "SET LOCAL lock_timeout = '5s';", ...statements, 'COMMIT;'];
  return {
    forward: [...head(`${name}.sql`, 'security hardening (runbook TICKET-010)'), '', ...body(forward), ''].join('\n'),
    rollback: [
      ...head(`${name}_rollback.sql`, 'restore the values captured before the hardening'),
      '-- Captured database-level values:',
      ...captured,
      '',
      ...body(rollback),
      '',
    ].join('\n'),
  };
}
