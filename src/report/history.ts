import type { RunRecord } from '../run/run.js';

/** A change of the run's journaled state seen after the run finished (by `report` or `rollback`). */
export interface StateChange {
  at: string | null;
  state: string;
  note: string;
}

/** The record as the report code keeps it: the run's own fields plus the state changes seen since. */
export type ReportedRecord = RunRecord & { stateHistory?: StateChange[] };

const at = (start: string, ms: number) => new Date(Date.parse(start) + ms).toISOString();

/**
 * The run's states, oldest first: started, applied, its outcome, then whatever the journal said
 * later (a `pgharden rollback` of a passed run). Times of the run's own states come from its
 * stage timings; later ones from the journal's finished_at.
 */
export function stateHistory(r: ReportedRecord): StateChange[] {
  const out: StateChange[] = [{ at: r.startedAt, state: 'started', note: `pgharden run, policy ${r.policySource}` }];
  let clock = 0;
  for (const s of r.stages) {
    clock += s.ms;
    if (s.stage === 'apply' && s.ok) out.push({ at: at(r.startedAt, clock), state: 'applied', note: s.summary.replace(/; backup .*/, '') });
  }
  if (r.outcome) out.push({ at: r.finishedAt, state: r.outcome, note: outcomeNote(r) });
  for (const c of r.stateHistory ?? []) if (c.state !== out.at(-1)?.state) out.push(c);
  return out;
}

function outcomeNote(r: RunRecord): string {
  const fired = (r.guard?.fired ?? []).map((t) => t.trigger).join(', ');
  if (r.outcome === 'passed') return "the run's outcome: no rollback trigger fired in the guard window";
  if (r.outcome === 'rolled_back') return `the run rolled itself back: ${fired ? `${fired} fired` : (r.error ?? 'verify failed')}`;
  if (r.outcome === 'triggered') return `${fired} fired; changes left in place (--no-auto-rollback)`;
  return `the run's outcome${r.error ? `: ${r.error}` : ''}`;
}
