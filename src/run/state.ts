/**
 * The one place that decides what state a run is in and what may follow (issue: "Failure is the
 * product"). `setRunStatus` enforces these transitions in the database, so a late writer (a run
 * whose changes another operator already rolled back) cannot flip a state back.
 */
export const RUN_STATES = [
  'preflight',
  'applying',
  'applied',
  'verifying',
  'guarding',
  'passed',
  'triggered',
  'rolling_back',
  'rolled_back',
  'noop',
  'blocked',
  'failed',
  'needs_attention',
] as const;
export type RunState = (typeof RUN_STATES)[number];

/** Allowed predecessors of each state. */
const FROM: Record<RunState, RunState[]> = {
  preflight: [],
  applying: ['preflight', 'needs_attention'],
  applied: ['applying', 'needs_attention'],
  verifying: ['applied', 'needs_attention'],
  guarding: ['verifying', 'applied', 'needs_attention'],
  passed: ['guarding'],
  triggered: ['guarding', 'verifying'],
  rolling_back: ['applying', 'applied', 'verifying', 'guarding', 'passed', 'triggered', 'rolling_back', 'needs_attention', 'failed'],
  rolled_back: ['rolling_back'],
  noop: ['preflight'],
  blocked: ['preflight'],
  /** Nothing of the run is in place (it stopped before its first change committed). */
  failed: ['preflight', 'applying'],
  /** Changes may be in place and the tool could not finish: `status` names the command that does. */
  needs_attention: ['applying', 'applied', 'verifying', 'guarding', 'rolling_back', 'needs_attention'],
};

export function allowedFrom(to: RunState): RunState[] {
  return FROM[to];
}

/** States in which a run's changes may be in place: rollback applies to it. */
export const CHANGES_IN_PLACE: RunState[] = [
  'applying',
  'applied',
  'verifying',
  'guarding',
  'passed',
  'triggered',
  'rolling_back',
  'needs_attention',
];

/** In place and settled: the hardening a person applied (or a run that passed) stays, on purpose. */
export const IN_FORCE: RunState[] = ['applied', 'passed', 'triggered'];

/** A run that stopped between two states (killed, lost server): it must be resumed or rolled back before anything else changes. */
export const UNFINISHED: RunState[] = ['applying', 'verifying', 'guarding', 'rolling_back', 'needs_attention'];

/** Did this run stop half-way? A `run` that is only `applied` stopped between its apply and its verify. */
export function isUnfinished(run: { command: string; status: RunState }): boolean {
  return UNFINISHED.includes(run.status) || (run.command === 'run' && run.status === 'applied');
}

/** A `run` in one of these states may be continued with `run --resume` (after checking the database matches). */
export const RESUMABLE: RunState[] = ['preflight', 'applying', 'applied', 'verifying', 'guarding', 'needs_attention'];

/** What a person should run next for a run in this state, or null when nothing is owed. */
export function nextCommand(run: { id: string; command: string; status: RunState }): string | null {
  switch (run.status) {
    case 'applying':
    case 'rolling_back':
      return `pgharden rollback --run ${run.id}`;
    case 'applied':
      return run.command === 'run' ? `pgharden run --resume ${run.id}  (or: pgharden rollback --run ${run.id})` : null;
    case 'verifying':
    case 'guarding':
    case 'needs_attention':
      return run.command === 'run'
        ? `pgharden run --resume ${run.id}  (or: pgharden rollback --run ${run.id})`
        : `pgharden rollback --run ${run.id}`;
    case 'triggered':
      return `pgharden rollback --run ${run.id}`;
    default:
      return null;
  }
}

/** One line for humans: what the state means. */
export function describeState(status: RunState): string {
  const words: Record<RunState, string> = {
    preflight: 'preflight only: nothing changed',
    applying: 'interrupted while applying: some changes may be in place',
    applied: 'applied: the hardening is in force',
    verifying: 'interrupted while verifying: the changes are in place',
    guarding: 'interrupted in the guard window: the changes are in place',
    passed: 'passed: the hardening is in force',
    triggered: 'a rollback trigger fired; the changes were left in place (--no-auto-rollback)',
    rolling_back: 'interrupted while rolling back: some changes may still be in place',
    rolled_back: 'rolled back: the prior values are restored',
    noop: 'nothing to change',
    blocked: 'blocked by preflight: nothing changed',
    failed: 'failed before its first change: nothing changed',
    needs_attention: 'needs attention: the changes may be in place and the tool could not finish',
  };
  return words[status];
}
