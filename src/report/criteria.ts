import type { RunRecord } from '../run/run.js';
import type { TriggerResult } from '../guard/triggers.js';
import { formatDuration } from '../policy/duration.js';
import { causeOf } from './cause.js';
import { displayValue } from './settings.js';

export type CriterionStatus = 'passed' | 'failed' | 'open';

export interface Criterion {
  group: 'Performance Validation' | 'Security Validation' | 'Operational Validation';
  item: string;
  status: CriterionStatus;
  /** The measurement behind the tick, or why it stays open. */
  evidence: string;
}

const trigger = (r: RunRecord, name: TriggerResult['trigger']) => r.guard?.triggers.find((t) => t.trigger === name);

function fromTrigger(t: TriggerResult | undefined, missing: string): Pick<Criterion, 'status' | 'evidence'> {
  if (!t) return { status: 'open', evidence: missing };
  if (!t.measured && !t.fired) return { status: 'open', evidence: t.summary };
  // A fired trigger fails the criterion it measured, with the numbers and the limit.
  return t.fired ? { status: 'failed', evidence: causeOf(t) } : { status: 'passed', evidence: `${t.summary} — ${t.source}` };
}

/** Enforcement of a timeout: passed only when a probe measured it on a fresh session. */
function probeCriterion(r: RunRecord, setting: string): Pick<Criterion, 'status' | 'evidence'> {
  const probe = r.verify?.probes?.find((p) => p.probe === setting && p.status !== 'skipped');
  if (probe) return { status: probe.ok ? 'passed' : 'failed', evidence: probe.message };
  if (!r.policy.settings[setting]) return { status: 'open', evidence: `the policy does not set ${setting}` };
  const live = r.verify?.checks.find((c) => c.name === `${setting} live`);
  return { status: 'open', evidence: `${live ? live.message : 'not verified'}; not probed (the run skipped probes: --no-probes)` };
}

/** The runbook's Success Criteria, each ticked only by a measurement; what only a person can confirm stays open. */
export function successCriteria(r: RunRecord): Criterion[] {
  const errors = fromTrigger(trigger(r, 'timeout_errors_increase'), 'no guard window was observed');
  const pool = fromTrigger(trigger(r, 'pool_exhaustion'), 'no guard window was observed');
  const complexity =
    r.verify?.checks.filter((c) => c.setting && !/timeout|log_min_duration/.test(c.setting) && c.setting !== 'connection_limit') ?? [];
  const sla = r.policy.sla_p95;
  const p95 = r.guard?.loads.length ? Math.max(...r.guard.loads.map((l) => l.latency.p95Ms)) : null;
  const rehearsal = r.rehearsal;
  const rolledBack = r.rollback?.ok && r.rollback.check?.ok;
  const latency = trigger(r, 'latency_degradation');
  const checks = trigger(r, 'checks');
  const shown = (name: string) => (r.policy.settings[name] === undefined ? '—' : displayValue(r, name, r.policy.settings[name] as string));

  return [
    { group: 'Performance Validation', item: 'No increase in application errors', ...errors },
    {
      group: 'Performance Validation',
      item: 'Query response times remain within SLA',
      // The latency trigger measured exactly this: when it fired, the criterion failed, whatever the SLA says.
      ...(latency?.fired
        ? { status: 'failed' as const, evidence: causeOf(latency) }
        : sla === undefined
          ? {
              status: 'open' as const,
              evidence: `no sla_p95 in the policy${latency?.measured ? `; against the baseline: ${latency.summary}` : ''}`,
            }
          : p95 === null
            ? { status: 'open' as const, evidence: `sla_p95 ${formatDuration(sla)}, but no load sample in the window (run with --load)` }
            : {
                status: p95 <= sla ? ('passed' as const) : ('failed' as const),
                evidence: `load p95 ${p95.toFixed(2)}ms against sla_p95 ${formatDuration(sla)}`,
              }),
    },
    { group: 'Performance Validation', item: 'Connection pool utilization stable', ...pool },
    {
      group: 'Performance Validation',
      item: 'No timeout-related customer impact',
      // The policy's business checks stand for the customer: one that failed is impact.
      ...(checks?.fired
        ? { status: 'failed' as const, evidence: causeOf(checks) }
        : { status: 'open' as const, evidence: 'a person confirms this with the application team' }),
    },
    {
      group: 'Security Validation',
      item: `Statement timeout enforced at ${shown('statement_timeout')}`,
      ...probeCriterion(r, 'statement_timeout'),
    },
    {
      group: 'Security Validation',
      item: `Idle transaction timeout enforced at ${shown('idle_in_transaction_session_timeout')}`,
      ...probeCriterion(r, 'idle_in_transaction_session_timeout'),
    },
    {
      group: 'Security Validation',
      item: 'Query complexity limits active',
      ...(complexity.length
        ? {
            status: complexity.every((c) => c.ok) ? ('passed' as const) : ('failed' as const),
            evidence: complexity.map((c) => c.message).join('; '),
          }
        : { status: 'open' as const, evidence: 'no complexity settings (work_mem, temp_file_limit, …) verified' }),
    },
    {
      group: 'Security Validation',
      item: 'Monitoring and alerting functional',
      ...(r.syntheticAlert
        ? { status: r.syntheticAlert.ok ? ('passed' as const) : ('failed' as const), evidence: r.syntheticAlert.message }
        : { status: 'open' as const, evidence: 'no synthetic alert was raised in this run' }),
    },
    {
      group: 'Operational Validation',
      item: 'DBA approval obtained',
      ...(r.approvedBy
        ? { status: 'passed' as const, evidence: `approved by ${r.approvedBy} (recorded in pgharden.runs)` }
        : { status: 'open' as const, evidence: 'no --approved-by recorded' }),
    },
    {
      group: 'Operational Validation',
      item: 'Rollback procedures tested',
      ...(rehearsal?.ok
        ? {
            status: 'passed' as const,
            evidence: `rehearsed on scratch database ${rehearsal.scratchDatabase}: ${rehearsal.applied} change(s) applied and restored exactly`,
          }
        : rolledBack
          ? { status: 'passed' as const, evidence: 'this run rolled back and the restore matched the backup exactly' }
          : rehearsal && !rehearsal.skipped
            ? { status: 'failed' as const, evidence: `rehearsal restore differed: ${rehearsal.check?.differences.join('; ')}` }
            : { status: 'open' as const, evidence: rehearsal?.skipped ?? 'not rehearsed (run with --rehearse-rollback)' }),
    },
    { group: 'Operational Validation', item: 'Documentation complete', status: 'open', evidence: 'a person confirms this' },
    { group: 'Operational Validation', item: 'Team training completed', status: 'open', evidence: 'a person confirms this' },
  ];
}
