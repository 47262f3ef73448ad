import { formatDuration } from '../../policy/duration.js';
import type { Alert } from '../engine.js';
import { percent, type AlertRule, type Severity } from '../rules.js';
import { isIdleInTransaction, type Sample, type SessionSample } from '../sample.js';
import { elapsed } from '../elapsed.js';
import { connectionsText, eventLine, rolloutText, transitionLine } from './format.js';
import type { Sink } from './sink.js';

export interface LiveViewOptions {
  out: NodeJS.WriteStream;
  rules: AlertRule[];
  target: string;
  intervalMs: number;
  /** How many sessions to list. */
  top: number;
  recycling: boolean;
}

const ESC = '\x1b[';
const useColor = !process.env.NO_COLOR;
const color = (code: string, s: string) => (useColor ? `${ESC}${code}m${s}${ESC}0m` : s);
const SEVERITY_COLOR: Record<Severity, string> = { critical: '1;31', warning: '33', info: '36' };
const RECENT_LINES = 6;

/**
 * The live view for a terminal, like top or pg_activity: a header (connections against
 * the limit, rollout progress, the longest durations against the thresholds), the
 * longest-running non-idle sessions with durations coloured against the thresholds,
 * the firing alerts, and the latest transitions. Redrawn in place on the alternate
 * screen; the command frame handles q / Ctrl-C.
 */
export function liveViewSink(opts: LiveViewOptions): Sink {
  const { out } = opts;
  const rule = (name: AlertRule['name']) => opts.rules.find((r) => r.name === name)!;
  let last: { sample: Sample; firing: Alert[] } | null = null;
  let problem: string | null = null;
  const recent: string[] = [];

  out.write(`${ESC}?1049h${ESC}?25l`);
  const redraw = () => {
    const width = Math.max(40, out.columns ?? 100);
    const height = Math.max(10, out.rows ?? 30);
    const lines = last ? frame(last.sample, last.firing, width, height) : [`pgharden monitor — ${opts.target}: connecting…`];
    if (problem) lines.splice(1, 0, color('1;31', problem));
    const text = lines.slice(0, height - 1).map((l) => clip(l, width) + `${ESC}K`).join('\r\n');
    out.write(`${ESC}H${text}${ESC}J`);
  };
  out.on('resize', redraw);

  const durationCell = (s: SessionSample): string => {
    const ms = s.state === 'active' ? (s.queryMs ?? 0) : s.stateMs;
    const r = s.state === 'active' ? rule('long_query') : isIdleInTransaction(s.state) ? rule('idle_in_transaction') : null;
    return r ? overColor(ms, r, elapsed(ms).padStart(9)) : elapsed(ms).padStart(9);
  };

  const frame = (s: Sample, firing: Alert[], width: number, height: number): string[] => {
    const lq = rule('long_query');
    const it = rule('idle_in_transaction');
    const cn = rule('connections');
    const states = Object.entries(s.connections.byState).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(' · ');
    const head = [
      color('1', `pgharden monitor — ${opts.target}`) + `   server ${s.at.slice(11, 19)}Z   poll ${s.pollMs.toFixed(1)}ms   every ${formatDuration(opts.intervalMs)}   q to quit`,
      `${overColor(s.connections.total / Math.max(1, s.connections.limit), cn, connectionsText(s))}, ${cn.severity} over ${percent(cn.over)}   ${states}`,
      `longest query ${elapsed(s.longestActiveMs)} (${lq.severity} over ${formatDuration(lq.over)})   ` +
        `longest idle in transaction ${elapsed(s.longestIdleInTransactionMs)} (${it.severity} over ${formatDuration(it.over)})`,
      rolloutText(s) + (s.rollout ? `   recycling idle: ${opts.recycling ? 'on' : 'off (--recycle-idle)'}` : ''),
      '',
      color('7', `${'PID'.padStart(7)} ${'USER'.padEnd(12)} ${'APPLICATION'.padEnd(16)} ${'STATE'.padEnd(20)} ${'DURATION'.padStart(9)}  ${'WAIT'.padEnd(18)} QUERY`.padEnd(width)),
    ];
    const room = Math.max(1, Math.min(opts.top, height - head.length - firing.length - RECENT_LINES - 5));
    const rows = s.sessions.slice(0, room).map((x) =>
      `${String(x.pid).padStart(7)} ${(x.usename ?? '').slice(0, 12).padEnd(12)} ${x.applicationName.slice(0, 16).padEnd(16)} ` +
      `${x.state.slice(0, 20).padEnd(20)} ${durationCell(x)}${x.onOldSettings ? '*' : ' '} ${(x.waitEvent ?? '').slice(0, 18).padEnd(18)} ` +
      x.query.replace(/\s+/g, ' '));
    if (!rows.length) rows.push(color('2', '   (no active or idle-in-transaction sessions)'));
    if (s.sessions.length > room) rows.push(color('2', `   … ${s.sessions.length - room} more`));
    const alerts = firing.length
      ? firing.map((a) => ` ${color(SEVERITY_COLOR[a.severity], a.severity.toUpperCase().padEnd(8))} ${a.rule.padEnd(19)} since ${a.since.slice(11, 19)}Z  ${a.message}`)
      : [color('2', '   none')];
    return [
      ...head, ...rows, '',
      color('1', `FIRING (${firing.length})`), ...alerts, '',
      color('1', 'RECENT'), ...(recent.length ? recent : [color('2', '   nothing yet')]),
      ...(s.sessions.some((x) => x.onOldSettings) ? ['', color('2', '* started before the latest apply: still on the old settings')] : []),
    ];
  };

  const remember = (line: string) => {
    recent.unshift(' ' + line.slice(11));
    recent.length = Math.min(recent.length, RECENT_LINES);
  };

  return {
    sample(sample, firing) {
      last = { sample, firing };
      problem = null;
      redraw();
    },
    transition(t) {
      remember(transitionLine(t));
      redraw();
    },
    event(e) {
      // A failure shows as a banner until the next sample; the loss itself also goes to RECENT.
      if (e.type === 'poll_failed' || e.type === 'connection_lost') problem = eventLine(e).slice(25);
      if (e.type !== 'poll_failed') remember(eventLine(e));
      redraw();
    },
    close() {
      out.off('resize', redraw);
      out.write(`${ESC}?25h${ESC}?1049l`);
    },
  };
}

/** `text` in the rule's severity colour once `value` is over its threshold, yellow from 80 % of it. */
function overColor(value: number, rule: AlertRule, text: string): string {
  if (value > rule.over) return color(SEVERITY_COLOR[rule.severity], text);
  return value > rule.over * 0.8 ? color('33', text) : text;
}

/** Cut a line to the terminal width, counting only visible characters (colour codes are kept). */
function clip(line: string, width: number): string {
  let visible = 0;
  let outText = '';
  for (let i = 0; i < line.length; i++) {
    const esc = line[i] === '\x1b' ? /^\x1b\[[0-9;?]*[A-Za-z]/.exec(line.slice(i)) : null;
    if (esc) {
      outText += esc[0];
      i += esc[0].length - 1;
      continue;
    }
    if (visible >= width) continue;
    outText += line[i];
    visible++;
  }
  return outText;
}
