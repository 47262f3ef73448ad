import type { SampleScope } from '../sample.js';

/**
 * The live view's state and what each key does to it: a pure reducer, so a sequence of keys
 * can be replayed in a unit test. Side effects (quit, cancel/terminate, scope) are returned
 * as an Effect for the caller to carry out; nothing here touches the database or the terminal.
 */

export type SortKey = 'duration' | 'state' | 'user';
export const SORTS: SortKey[] = ['duration', 'state', 'user'];
export type SignalAction = 'cancel' | 'terminate';

export interface ViewState {
  sort: SortKey;
  /** Case-insensitive substring over pid, user, application, state, database and query ('' = none). */
  filter: string;
  /** While typing a filter after `/`: the text so far. */
  editing: string | null;
  /** The view keeps showing the sample it had when paused (polling and alerts go on). */
  paused: boolean;
  /** Blocking tree: who waits on whom (pg_blocking_pids). */
  tree: boolean;
  scope: SampleScope;
  /** The selected session's pid (arrows move it; c / k act on it). */
  selected: number | null;
  /** Waiting for y to confirm an action on a pid. */
  confirm: { action: SignalAction; pid: number } | null;
  /** The outcome of the last action or a refusal, shown until the next key. */
  message: string | null;
}

export const initialView = (scope: SampleScope = 'database'): ViewState => ({
  sort: 'duration',
  filter: '',
  editing: null,
  paused: false,
  tree: false,
  scope,
  selected: null,
  confirm: null,
  message: null,
});

export type Effect = { type: 'quit' } | { type: 'signal'; action: SignalAction; pid: number } | { type: 'scope'; scope: SampleScope };

/** What the reducer needs to know about the screen: the selectable pids in display order, and our own backend pid. */
export interface Visible {
  pids: number[];
  myPid: number | null;
}

/** Split raw terminal input into key names: 'up', 'down', 'enter', 'esc', 'backspace', 'ctrl-c', or the character. */
export function decodeKeys(data: string): string[] {
  const keys: string[] = [];
  for (let i = 0; i < data.length; i++) {
    const rest = data.slice(i);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences start with ESC
    const arrow = /^\x1b(?:\[|O)([ABCD])/.exec(rest);
    if (arrow) {
      keys.push({ A: 'up', B: 'down', C: 'right', D: 'left' }[arrow[1]]!);
      i += arrow[0].length - 1;
    } else if (rest[0] === '\x1b') keys.push('esc');
    else if (rest[0] === '\r' || rest[0] === '\n') keys.push('enter');
    else if (rest[0] === '\x7f' || rest[0] === '\b') keys.push('backspace');
    else if (rest[0] === '\x03') keys.push('ctrl-c');
    else keys.push(rest[0]);
  }
  return keys;
}

export const HELP = '↑↓ select  c cancel  k terminate  b blocking tree  s sort  / filter  space pause  a instance  q quit';

/** Apply one key. */
export function press(state: ViewState, key: string, visible: Visible): { state: ViewState; effect: Effect | null } {
  const s: ViewState = { ...state, message: null };
  if (key === 'ctrl-c') return { state: s, effect: { type: 'quit' } };

  if (s.editing !== null) {
    if (key === 'enter') return { state: { ...s, filter: s.editing.trim(), editing: null }, effect: null };
    if (key === 'esc') return { state: { ...s, editing: null }, effect: null };
    if (key === 'backspace') return { state: { ...s, editing: s.editing.slice(0, -1) }, effect: null };
    return { state: { ...s, editing: key.length === 1 ? s.editing + key : s.editing }, effect: null };
  }

  if (s.confirm) {
    const { action, pid } = s.confirm;
    if (key === 'y' || key === 'Y') return { state: { ...s, confirm: null }, effect: { type: 'signal', action, pid } };
    return { state: { ...s, confirm: null, message: `${action} of pid ${pid} not sent` }, effect: null };
  }

  const selected = s.selected !== null && visible.pids.includes(s.selected) ? s.selected : (visible.pids[0] ?? null);
  switch (key) {
    case 'q':
      return { state: s, effect: { type: 'quit' } };
    case 'up':
    case 'down': {
      if (selected === null) return { state: s, effect: null };
      const i = visible.pids.indexOf(selected) + (key === 'up' ? -1 : 1);
      return { state: { ...s, selected: visible.pids[Math.max(0, Math.min(visible.pids.length - 1, i))] }, effect: null };
    }
    case 'c':
    case 'k': {
      const action: SignalAction = key === 'c' ? 'cancel' : 'terminate';
      if (selected === null) return { state: { ...s, message: `no session selected to ${action}` }, effect: null };
      if (selected === visible.myPid)
        return { state: { ...s, selected, message: `refused: pid ${selected} is this monitor's own session` }, effect: null };
      return { state: { ...s, selected, confirm: { action, pid: selected } }, effect: null };
    }
    case 'b':
    case 't':
      return { state: { ...s, tree: !s.tree }, effect: null };
    case 's':
      return { state: { ...s, sort: SORTS[(SORTS.indexOf(s.sort) + 1) % SORTS.length] }, effect: null };
    case '/':
      return { state: { ...s, editing: s.filter }, effect: null };
    case 'esc':
      return { state: { ...s, filter: '' }, effect: null };
    case ' ':
    case 'p':
      return { state: { ...s, paused: !s.paused }, effect: null };
    case 'a': {
      const scope: SampleScope = s.scope === 'database' ? 'instance' : 'database';
      return { state: { ...s, scope }, effect: { type: 'scope', scope } };
    }
    default:
      return { state: s, effect: null };
  }
}
