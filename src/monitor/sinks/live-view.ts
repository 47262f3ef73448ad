import type { Alert } from '../engine.js';
import { decodeKeys, initialView, press, type ViewState } from '../live/keys.js';
import { renderFrame, tableRoom, visibleRows } from '../live/render.js';
import type { AlertRule } from '../rules.js';
import type { Sample, SampleScope } from '../sample.js';
import { eventLine, transitionLine } from './format.js';
import type { MonitorControl, Sink } from './sink.js';

export interface LiveViewOptions {
  out: NodeJS.WriteStream;
  rules: AlertRule[];
  target: string;
  intervalMs: number;
  /** How many sessions to list. */
  top: number;
  recycling: boolean;
  scope?: SampleScope;
}

export interface LiveViewSink extends Sink {
  /** Raw terminal input; true when it asks to quit. */
  input(data: string): boolean;
}

const ESC = '\x1b[';
const RECENT_LINES = 6;

/**
 * The live view for a terminal, like top or pg_activity: the frame comes from renderFrame
 * (live/render.ts) and the keys from press (live/keys.ts), both pure; this sink holds the
 * state, redraws in place on the alternate screen, and carries out the keys' effects
 * (cancel/terminate over the monitor's session, the scope of the next poll).
 */
export function liveViewSink(opts: LiveViewOptions): LiveViewSink {
  const { out } = opts;
  let view: ViewState = initialView(opts.scope);
  let last: { sample: Sample; firing: Alert[] } | null = null;
  let problem: string | null = null;
  let control: MonitorControl | null = null;
  const recent: string[] = [];

  const size = () => ({ width: Math.max(40, out.columns ?? 100), height: Math.max(10, out.rows ?? 30) });
  const redraw = () => {
    const { width, height } = size();
    const lines = renderFrame({
      view,
      sample: last?.sample ?? null,
      firing: last?.firing ?? [],
      recent,
      problem,
      rules: opts.rules,
      target: opts.target,
      intervalMs: opts.intervalMs,
      top: opts.top,
      recycling: opts.recycling,
      width,
      height,
      color: !process.env.NO_COLOR,
    });
    const text = lines
      .slice(0, height - 1)
      .map((l) => clip(l, width) + `${ESC}K`)
      .join('\r\n');
    out.write(`${ESC}H${text}${ESC}J`);
  };
  out.write(`${ESC}?1049h${ESC}?25l`);
  out.on('resize', redraw);

  const remember = (line: string) => {
    recent.unshift(' ' + line.slice(11));
    recent.length = Math.min(recent.length, RECENT_LINES);
  };

  return {
    attach(c) {
      control = c;
    },
    input(data) {
      for (const key of decodeKeys(data)) {
        const { height } = size();
        const room = tableRoom({ top: opts.top, height, firing: last?.firing ?? [] });
        const pids = visibleRows(view, last?.sample ?? null, room).map((r) => r.pid);
        const { state, effect } = press(view, key, { pids, myPid: last?.sample.myPid ?? null });
        view = state;
        if (effect?.type === 'quit') return true;
        if (effect?.type === 'scope') control?.setScope(effect.scope);
        if (effect?.type === 'signal') {
          const { action, pid } = effect;
          view = { ...view, message: `${action} pid ${pid}…` };
          void (control ? control.signalBackend(pid, action) : Promise.resolve('the monitor is not running')).then((message) => {
            view = { ...view, message };
            remember(`${new Date().toISOString()} ${message}`);
            redraw();
          });
        }
      }
      redraw();
      return false;
    },
    sample(sample, firing) {
      problem = null;
      // Paused: alerts and sinks go on, the screen keeps what it showed.
      if (view.paused && last) return;
      last = { sample, firing };
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

/** Cut a line to the terminal width, counting only visible characters (colour codes are kept). */
function clip(line: string, width: number): string {
  let visible = 0;
  let outText = '';
  for (let i = 0; i < line.length; i++) {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences start with ESC
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
