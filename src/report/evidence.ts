import { TIMEOUT_STATES } from '../guard/triggers.js';
import { buildWorkload, WORKLOADS, type WorkloadName } from '../load/workloads/index.js';
import { parseDuration } from '../policy/duration.js';
import type { RunRecord } from '../run/run.js';

/** One statement (or source) behind the timeouts: the root-cause evidence of a rollback. */
export interface EvidenceRow {
  source: 'load sample' | 'pg_stat_statements' | 'server log';
  statement: string;
  sqlstate: string;
  /** Errors counted in the window (load, log), or calls before the change (pg_stat_statements). */
  count: number;
  meanMs: number | null;
  maxMs: number | null;
  note: string;
}

/** The fields of the load generator's result that the run keeps in `guard.loads` besides the trigger's own. */
interface LoadDetail {
  workload?: string;
  errorsByStep?: Record<string, Record<string, number>>;
  errorMessages?: Record<string, string>;
}

const SQLSTATE_NAMES: Record<string, string> = {
  '57014': 'statement timeout',
  '25P03': 'idle-in-transaction timeout',
  '25P04': 'transaction timeout',
};

/** The SQL a load-generator step runs (the workload's own definition), e.g. `slow.statement` → `SELECT pg_sleep(…)`. */
function stepSql(workload: string | undefined, step: string): string {
  if (!workload || !(WORKLOADS as readonly string[]).includes(workload)) return step;
  const w = buildWorkload(workload as WorkloadName, { scale: 1, slowMs: 0, thinkMs: 0 });
  for (const t of w.transactions) {
    for (const rt of t.roundTrips) {
      if (rt.thinkStep === step) return `(idle in transaction between statements of "${t.name}")`;
      const s = rt.steps.find((x) => x.step === step);
      if (s) return w.statements.find((d) => d.name === s.statement)?.sql ?? step;
    }
  }
  return step;
}

/** Milliseconds of a policy timeout value (`30s`, `300ms`, or a bare number of ms as PostgreSQL reads it). */
export function timeoutMs(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  const text = String(value);
  return /^\d+$/.test(text) ? Number(text) : parseDuration(text);
}

/**
 * Which statements hit the timeouts, from every source the record holds: the load sample's errors
 * by workload step, pg_stat_statements rows of the baseline whose longest run already exceeded the
 * new statement_timeout (pg_stat_statements does not count cancelled executions: these are the
 * statements that will be cancelled), and the server log's counts. Largest first.
 */
export function timeoutEvidence(r: RunRecord): EvidenceRow[] {
  const rows: EvidenceRow[] = [];
  const byStep = new Map<string, EvidenceRow>();
  for (const l of r.guard?.loads ?? []) {
    const load = l as typeof l & LoadDetail;
    for (const [step, codes] of Object.entries(load.errorsByStep ?? {})) {
      for (const [code, n] of Object.entries(codes)) {
        if (!TIMEOUT_STATES.includes(code)) continue;
        const key = `${step} ${code}`;
        const row = byStep.get(key) ?? {
          source: 'load sample' as const,
          statement: stepSql(load.workload, step),
          sqlstate: code,
          count: 0,
          meanMs: null,
          maxMs: null,
          // A cancelled statement ran for the limit itself: its own time is not measured, the limit is.
          note: `workload step ${step}: ${load.errorMessages?.[code] ?? SQLSTATE_NAMES[code]}${code === '57014' && r.policy.settings.statement_timeout ? ` (cut off at the ${r.policy.settings.statement_timeout} limit)` : ''}`,
        };
        row.count += n;
        byStep.set(key, row);
      }
    }
  }
  rows.push(...[...byStep.values()].sort((a, b) => b.count - a.count));

  const limit = timeoutMs(r.policy.settings.statement_timeout);
  if (limit !== null && limit > 0) {
    const slow = (r.baseline?.statements ?? [])
      .filter((s) => s.maxMs >= limit)
      .sort((a, b) => b.calls * b.meanMs - a.calls * a.meanMs)
      .slice(0, 5);
    rows.push(
      ...slow.map((s) => ({
        source: 'pg_stat_statements' as const,
        statement: s.query,
        sqlstate: '57014',
        count: s.calls,
        meanMs: s.meanMs,
        maxMs: s.maxMs,
        note:
          s.meanMs >= limit
            ? 'its mean already exceeds the new statement_timeout: most calls will be cancelled'
            : 'its longest call exceeded the new statement_timeout',
      })),
    );
  }

  const timeouts = r.guard?.triggers.find((t) => t.trigger === 'timeout_errors_increase');
  const log = timeouts?.sources.find((s) => s.source === 'log');
  if (log) {
    rows.push({
      source: 'server log',
      statement: '(all statements of the window)',
      sqlstate: TIMEOUT_STATES.join('/'),
      // The log's own counts are in its summary ("11× 57014"); sqlstates mixes in the load's.
      count: [...log.summary.matchAll(/(\d+)× (57014|25P03|25P04)/g)].reduce((n, m) => n + Number(m[1]), 0),
      meanMs: null,
      maxMs: null,
      note: log.summary,
    });
  }
  return rows;
}
