import type { Log } from '../log.js';
import type { Finding } from '../plan/findings.js';
import type { planData } from '../plan/plan.js';
import type { Check } from '../verify/verify.js';
import { mark, paint, table } from './table.js';

export function renderFindings(log: Log, findings: Finding[]): void {
  if (!findings.length) {
    log.info('findings: none');
    return;
  }
  log.info('findings:');
  for (const f of findings) {
    const tag = f.severity === 'blocking' ? paint.bad('BLOCKING') : paint.warn('advisory');
    log.info(`  ${tag} [${f.code}] ${f.message}`);
    if (f.fix) log.info(`           instead: ${f.fix}`);
  }
}

export function renderPlan(log: Log, plan: ReturnType<typeof planData>): void {
  log.info(
    table(
      ['setting', 'database value', 'effective now', 'target', 'action'],
      plan.rows.map((r) => [r.setting, r.databaseValue, `${r.effective} (${r.effectiveFrom})`, r.target ?? 'RESET', r.action]),
    ),
  );
  log.info('');
  if (plan.forwardSql.length) {
    log.info('forward SQL:');
    for (const s of plan.forwardSql) log.info(`  ${s}`);
    log.info('rollback SQL (from the values captured now):');
    for (const s of plan.rollbackSql) log.info(`  ${s}`);
  } else if (plan.blocked) {
    log.info('nothing that can be applied: the plan is blocked (see the findings)');
  } else {
    log.info('nothing to change: the database is already in the target state');
  }
  log.info('');
  renderFindings(log, plan.findings);
}

export function renderChecks(log: Log, checks: Check[]): void {
  for (const c of checks) {
    log.info(`  ${c.warning ? '!' : mark(c.ok)} ${c.message}`);
    if (c.fix) log.info(`      fix: ${c.fix}`);
  }
}
