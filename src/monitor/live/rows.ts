import { isIdleInTransaction, type SessionSample } from '../sample.js';
import type { ViewState } from './keys.js';

/** A line of the session table: a session (or a blocker the sample does not list), at a depth of the blocking tree. */
export interface Row {
  pid: number;
  session: SessionSample | null;
  depth: number;
  /** Other pids this session also waits on (tree: it is shown under its first blocker). */
  alsoWaitsOn: number[];
}

/** The duration the view shows and sorts by: the query's for an active session, the state's otherwise. */
export const shownMs = (s: SessionSample): number => (s.state === 'active' ? (s.queryMs ?? 0) : s.stateMs);

export function matches(s: SessionSample, filter: string): boolean {
  if (!filter) return true;
  const f = filter.toLowerCase();
  return [String(s.pid), s.usename ?? '', s.applicationName, s.state, s.datname, s.query].some((v) => v.toLowerCase().includes(f));
}

const COMPARE: Record<ViewState['sort'], (a: SessionSample, b: SessionSample) => number> = {
  duration: (a, b) => shownMs(b) - shownMs(a),
  state: (a, b) => rank(a.state) - rank(b.state) || a.state.localeCompare(b.state) || shownMs(b) - shownMs(a),
  user: (a, b) => (a.usename ?? '').localeCompare(b.usename ?? '') || shownMs(b) - shownMs(a),
};

/** By state, the ones a DBA acts on first: idle in transaction holds locks, then active queries. */
const rank = (state: string) => (isIdleInTransaction(state) ? 0 : state === 'active' ? 1 : 2);

/**
 * The table's rows for a view state: filtered, sorted, and in tree mode arranged as the
 * blocking tree — each blocker first, the sessions waiting on it indented under it, chain by
 * chain; a blocker the sample does not list (idle with a lock, another database) gets a row of
 * its own so the waiter still hangs under a pid one can act on. The filter applies to whole
 * chains: a chain stays when any of its sessions matches.
 */
export function arrangeRows(sessions: SessionSample[], view: Pick<ViewState, 'sort' | 'filter' | 'tree'>): Row[] {
  const sorted = [...sessions].sort(COMPARE[view.sort]);
  if (!view.tree)
    return sorted.filter((s) => matches(s, view.filter)).map((session) => ({ pid: session.pid, session, depth: 0, alsoWaitsOn: [] }));

  const byPid = new Map(sessions.map((s) => [s.pid, s]));
  const waiters = new Map<number, SessionSample[]>();
  for (const s of sorted) {
    const first = s.blockedBy[0];
    if (first === undefined) continue;
    waiters.set(first, [...(waiters.get(first) ?? []), s]);
  }
  // Roots: blockers that wait on nobody (or whose blocker is outside the chain we can follow).
  const roots = [...waiters.keys()].filter((pid) => {
    const first = byPid.get(pid)?.blockedBy[0];
    return first === undefined || (!byPid.has(first) && !waiters.has(first));
  });
  const chains: Row[][] = [];
  const seen = new Set<number>();
  const walk = (pid: number, depth: number, out: Row[]) => {
    if (seen.has(pid)) return; // a lock cycle (a deadlock about to be detected) is shown once
    seen.add(pid);
    const session = byPid.get(pid) ?? null;
    out.push({ pid, session, depth, alsoWaitsOn: session?.blockedBy.slice(1) ?? [] });
    for (const w of waiters.get(pid) ?? []) walk(w.pid, depth + 1, out);
  };
  for (const root of roots) {
    const chain: Row[] = [];
    walk(root, 0, chain);
    chains.push(chain);
  }
  // Cycles have no root: start them at any member not reached yet.
  for (const pid of waiters.keys()) {
    if (seen.has(pid)) continue;
    const chain: Row[] = [];
    walk(pid, 0, chain);
    chains.push(chain);
  }
  return chains.filter((c) => c.some((r) => (r.session ? matches(r.session, view.filter) : String(r.pid).includes(view.filter)))).flat();
}
