import { formatDuration } from '../../policy/duration.js';
import type { Alert } from '../engine.js';
import { elapsed } from '../elapsed.js';
import { percent, type AlertRule, type Severity } from '../rules.js';
import { isIdleInTransaction, type Sample, type SessionSample } from '../sample.js';
import { connectionsText, rolloutText } from '../sinks/format.js';
import { HELP, type ViewState } from './keys.js';
import { arrangeRows, shownMs, type Row } from './rows.js';

export interface FrameInput {
  view: ViewState;
  sample: Sample | null;
  firing: Alert[];
  /** Latest transitions and events, newest first. */
  recent: string[];
  /** A poll failure, shown as a banner until the next sample. */
  problem: string | null;
  rules: AlertRule[];
  target: string;
  intervalMs: number;
  top: number;
  recycling: boolean;
  width: number;
  height: number;
  color: boolean;
}

const SEVERITY_COLOR: Record<Severity, string> = { critical: '1;31', warning: '33', info: '36' };

/** The rows shown for a state and sample, in order: what the arrows move over. */
export function visibleRows(view: ViewState, sample: Sample | null, room = Infinity): Row[] {
  return sample ? arrangeRows(sample.sessions, view).slice(0, room) : [];
}

/** How many session rows fit: the table gets what the header, alerts and recent lines leave. */
export const tableRoom = (input: Pick<FrameInput, 'top' | 'height' | 'firing'>) =>
  Math.max(1, Math.min(input.top, input.height - 7 - Math.max(1, input.firing.length) - 6 - 6));

/**
 * One frame of the live view, as lines: a pure function of the view state and the sample, so
 * tests replay keys and read the result. The selected row is marked `>` (visible without colour).
 */
export function renderFrame(input: FrameInput): string[] {
  const { view, sample: s, firing, width } = input;
  const color = (code: string, text: string) => (input.color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const rule = (name: AlertRule['name']) => input.rules.find((r) => r.name === name)!;
  const overColor = (value: number, r: AlertRule, text: string) =>
    value > r.over ? color(SEVERITY_COLOR[r.severity], text) : value > r.over * 0.8 ? color('33', text) : text;

  const where = view.scope === 'instance' ? `${input.target} (whole instance)` : input.target;
  if (!s) return [`pgharden monitor — ${where}: connecting…`];
  const lq = rule('long_query');
  const it = rule('idle_in_transaction');
  const cn = rule('connections');
  const states = Object.entries(s.connections.byState)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(' · ');
  const modes = [
    view.paused ? color('1;33', 'PAUSED') : '',
    view.tree ? 'blocking tree' : `sort ${view.sort}`,
    view.filter ? `filter "${view.filter}"` : '',
    view.scope === 'instance' ? 'all databases' : '',
  ]
    .filter(Boolean)
    .join(' · ');
  const room = tableRoom(input);
  const all = visibleRows(view, s);
  const rows = all.slice(0, room);
  // The tree indents the pid column: left-aligned, as wide as the deepest row needs.
  const pidWidth = view.tree ? Math.max(7, ...rows.map((r) => (r.depth ? 3 * r.depth : 0) + String(r.pid).length)) : 7;
  const head = [
    color('1', `pgharden monitor — ${where}`) +
      `   server ${s.at.slice(11, 19)}Z   poll ${s.pollMs.toFixed(1)}ms   every ${formatDuration(input.intervalMs)}`,
    `${overColor(s.connections.total / Math.max(1, s.connections.limit), cn, connectionsText(s))}, ${cn.severity} over ${percent(cn.over)}   ${states}`,
    `longest query ${elapsed(s.longestActiveMs)} (${lq.severity} over ${formatDuration(lq.over)})   ` +
      `longest idle in transaction ${elapsed(s.longestIdleInTransactionMs)} (${it.severity} over ${formatDuration(it.over)})`,
    rolloutText(s) + (s.rollout ? `   recycling idle: ${input.recycling ? 'on' : 'off (--recycle-idle)'}` : ''),
    color('2', HELP),
    prompt(input, color) ?? modes,
    color(
      '7',
      `  ${view.tree ? 'PID'.padEnd(pidWidth) : 'PID'.padStart(7)} ${view.scope === 'instance' ? `${'DATABASE'.padEnd(12)} ` : ''}${'USER'.padEnd(12)} ${'APPLICATION'.padEnd(16)} ${'STATE'.padEnd(20)} ${'DURATION'.padStart(9)}  ${'WAIT'.padEnd(18)} QUERY`.padEnd(
        width,
      ),
    ),
  ];

  const durationCell = (x: SessionSample): string => {
    const ms = shownMs(x);
    const r = x.state === 'active' ? lq : isIdleInTransaction(x.state) ? it : null;
    return r ? overColor(ms, r, elapsed(ms).padStart(9)) : elapsed(ms).padStart(9);
  };
  const selected = view.selected !== null && rows.some((r) => r.pid === view.selected) ? view.selected : rows[0]?.pid;
  const lines = rows.map((r) => {
    const x = r.session;
    const indent = r.depth ? '   '.repeat(r.depth - 1) + '└─ ' : '';
    const pid = view.tree ? (indent + String(r.pid)).padEnd(pidWidth) : String(r.pid).padStart(7);
    const text = !x
      ? `${pid} ${color('2', '(not listed: idle, or not visible to this role) — holds the lock')}`
      : `${pid} ${view.scope === 'instance' ? `${x.datname.slice(0, 12).padEnd(12)} ` : ''}${(x.usename ?? '').slice(0, 12).padEnd(12)} ` +
        `${x.applicationName.slice(0, 16).padEnd(16)} ${x.state.slice(0, 20).padEnd(20)} ${durationCell(x)}${x.onOldSettings ? '*' : ' '} ` +
        `${(x.waitEvent ?? '').slice(0, 18).padEnd(18)} ${r.alsoWaitsOn.length ? `(also waits on ${r.alsoWaitsOn.join(', ')}) ` : ''}${x.query.replace(/\s+/g, ' ')}`;
    return r.pid === selected ? color('7', `> ${text}`) : `  ${text}`;
  });
  if (!lines.length) {
    lines.push(
      color(
        '2',
        view.tree
          ? '   (no session waits on a lock)'
          : view.filter
            ? `   (no session matches "${view.filter}")`
            : '   (no active or idle-in-transaction sessions)',
      ),
    );
  }
  if (all.length > room) lines.push(color('2', `   … ${all.length - room} more`));
  const alerts = firing.length
    ? firing.map(
        (a) =>
          ` ${color(SEVERITY_COLOR[a.severity], a.severity.toUpperCase().padEnd(8))} ${a.rule.padEnd(19)} since ${a.since.slice(11, 19)}Z  ${a.message}`,
      )
    : [color('2', '   none')];
  return [
    ...(input.problem ? [head[0], color('1;31', input.problem), ...head.slice(1)] : head),
    ...lines,
    '',
    color('1', `FIRING (${firing.length})`),
    ...alerts,
    '',
    color('1', 'RECENT'),
    ...(input.recent.length ? input.recent : [color('2', '   nothing yet')]),
    ...(s.sessions.some((x) => x.onOldSettings) ? ['', color('2', '* started before the latest apply: still on the old settings')] : []),
  ];
}

/** The line under the help: a confirmation question, the filter being typed, or the last action's outcome. */
function prompt(input: FrameInput, color: (code: string, text: string) => string): string | null {
  const { view } = input;
  if (view.confirm) {
    const x = input.sample?.sessions.find((s) => s.pid === view.confirm!.pid);
    const what = view.confirm.action === 'cancel' ? 'Cancel the query of' : 'Terminate the session of';
    return color(
      '1;33',
      `${what} pid ${view.confirm.pid}${x ? ` (${x.usename ?? '?'}: ${x.query.replace(/\s+/g, ' ').slice(0, 60)})` : ''}? y to confirm, any other key to abort`,
    );
  }
  if (view.editing !== null) return `filter: ${view.editing}_   (Enter to apply, Esc to drop)`;
  return view.message ? color('1', view.message) : null;
}
