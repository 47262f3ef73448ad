import type { Log } from './log.js';
import type { Target } from './pg/target.js';
import type { Policy } from './policy/schema.js';

/** What every pipeline stage is given: where to work, what to enforce, where to talk. */
export interface StageContext {
  target: Target;
  policy: Policy;
  log: Log;
  /** Root of run directories (default `.pgharden/runs`). */
  runsRoot?: string;
  /** The environment picked with --env, and its rules. */
  environment?: { name: string; approval: 'required' | 'optional'; requires: string[]; window?: string };
  /** Round trips of the baseline's latency probe (default 200); a fleet of a thousand databases takes fewer. */
  latencyProbeRuns?: number;
}
