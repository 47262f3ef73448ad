import type { RunRecord } from '../run/run.js';
import type { EvidenceRow } from './evidence.js';
import { fmtMs } from './svg.js';

/** One of the runbook's "Post-Rollback Actions", with what the run already knows filled in. */
export interface PostRollbackAction {
  item: string;
  done: boolean;
  detail: string;
}

/** The retry command: the same policy and approval, with the rehearsal and the load sample that prove the fix. */
export function retryCommand(r: RunRecord): string {
  const load = r.baselineLoad ? ' --load' : '';
  return `pgharden run --db <the same database> --policy ${r.policySource} --approved-by "${r.approvedBy ?? '<DBA>'}" --rehearse-rollback${load}`;
}

/**
 * Runbook, "Post-Rollback Actions": 1 document the reason, 2 analyse the root cause, 3 create a
 * remediation plan, 4 schedule a retry with fixes. The reason is filled in from the run, the root
 * cause points at the evidence, remediation and retry are proposals a person confirms.
 */
export function postRollbackActions(r: RunRecord, cause: string | null, evidence: EvidenceRow[], manual: boolean): PostRollbackAction[] {
  const fired = new Set((r.guard?.fired ?? []).map((t) => t.trigger));
  const role = r.verify?.liveRole ?? '<role>';
  const limit = r.policy.settings.statement_timeout;
  const top = evidence.filter((e) => e.source !== 'server log').slice(0, 3);
  const remediation: string[] = [];
  if (fired.has('timeout_errors_increase') || top.length) {
    remediation.push(
      top.length
        ? `optimise or split the statements above (${top.map((e) => `${e.statement.slice(0, 60)}${e.meanMs !== null ? ` — mean ${fmtMs(e.meanMs)}` : ''}`).join('; ')})`
        : 'find the statements that hit the timeout (run again with --load, or --log with the server log) and optimise them',
      `where a job really needs longer, declare the exception: in its own transaction \`SET LOCAL statement_timeout = '…'\`, or for its role \`ALTER ROLE ${role} IN DATABASE ${r.database} SET statement_timeout = '…'\` (verify then lists the role as an override of the ${limit ?? 'new'} limit, on purpose)`,
    );
  }
  if (fired.has('latency_degradation'))
    remediation.push(
      'find which setting slows the workload: apply the policy without it on a rehearsal database (`--rehearse-rollback`) and compare with `pgharden loadtest`',
    );
  if (fired.has('pool_exhaustion'))
    remediation.push(
      `size the application pools so that all instances together stay below connection_limit ${r.policy.connection_limit ?? ''}, or raise the limit in the policy`,
    );
  if (fired.has('checks'))
    remediation.push('make the failing business checks pass under the new limits (or correct the check if it tests the wrong thing)');
  if (!remediation.length)
    remediation.push(
      manual ? 'write down what the rollback was for, then what to change before retrying' : 'see the cause above; fix it before retrying',
    );
  return [
    {
      item: 'Document the reason for rollback',
      done: Boolean(cause),
      detail: cause
        ? `${cause} (this report; run ${r.runId} in pgharden.runs)`
        : 'rolled back by hand: write the reason in the change ticket',
    },
    {
      item: 'Analyze root cause',
      done: top.length > 0 || Boolean(r.guard?.fired.length),
      detail: top.length
        ? `the statements that hit the timeouts are listed under "Evidence" (${top.length} from ${[...new Set(top.map((e) => e.source))].join(' and ')})`
        : r.guard?.fired.length
          ? 'the fired trigger\'s measurements are listed under "Evidence"'
          : manual
            ? 'the run passed: nothing it measured points at a cause; ask who rolled it back, and what they saw'
            : "no measurement points at a cause: look at the application's errors of the window",
    },
    { item: 'Create remediation plan', done: false, detail: remediation.join('; ') },
    { item: 'Schedule retry with fixes', done: false, detail: retryCommand(r) },
  ];
}
