import type { EventStream } from './events/stream.js';
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
  environment?: {
    name: string;
    approval: 'required' | 'optional';
    requires: string[];
    window?: string;
    /** PgBouncer admin consoles of this environment (else the policy's poolers:). */
    poolers?: string[];
    /** Low-traffic gate of this environment (else the policy's max_load:). */
    maxLoad?: Policy['max_load'];
  };
  /** The run's event stream (terminal checklist, --events, the journal, the dashboard); absent: nobody listens. */
  events?: EventStream;
  /** Round trips of the baseline's latency probe (default 200); a fleet of a thousand databases takes fewer. */
  latencyProbeRuns?: number;
}
