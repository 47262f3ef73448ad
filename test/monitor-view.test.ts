import { describe, expect, it } from 'vitest';
import { decodeKeys, initialView, press, type Effect, type ViewState } from '../src/monitor/live/keys.js';
import { renderFrame, tableRoom, visibleRows } from '../src/monitor/live/render.js';
import { rulesFromPolicy } from '../src/monitor/rules.js';
import type { Sample, SessionSample } from '../src/monitor/sample.js';
import { parsePolicy } from '../src/policy/parse.js';

const session = (pid: number, s: Partial<SessionSample> = {}): SessionSample => ({
  pid,
  datname: 'app',
  blockedBy: [],
  backendStart: '2026-01-01T00:00:00.000Z',
  usename: 'app',
  applicationName: 'api',
  clientAddr: null,
  state: 'active',
  waitEvent: null,
  queryMs: 1_000,
  stateMs: 1_000,
  xactMs: 1_000,
  onOldSettings: false,
  query: 'SELECT 1',
  ...s,
});

/** 101 holds a row lock (idle in transaction), 102 waits on it, 103 waits on 102's… no: on 101 too; 104 is unrelated; 105 waits on 900, not listed. */
const SAMPLE: Sample = {
  database: 'app',
  scope: 'database',
  at: '2026-01-01T00:01:00.000Z',
  pollMs: 0.5,
  myPid: 42,
  connections: {
    total: 7,
    byState: { active: 4, 'idle in transaction': 1 },
    maxTxMsByState: {},
    datconnlimit: -1,
    limit: 97,
    limitSource: 'max_connections',
  },
  longestActiveMs: 9_000,
  longestIdleInTransactionMs: 30_000,
  longestTransactionMs: 30_000,
  rollout: null,
  stats: {},
  activity: [],
  sessions: [
    session(104, { usename: 'zed', queryMs: 9_000, query: 'SELECT pg_sleep(60)' }),
    session(101, {
      usename: 'alice',
      state: 'idle in transaction',
      queryMs: null,
      stateMs: 30_000,
      query: 'UPDATE t SET v = 1 WHERE id = 1',
    }),
    session(102, {
      usename: 'bob',
      queryMs: 5_000,
      waitEvent: 'Lock:transactionid',
      blockedBy: [101],
      query: 'UPDATE t SET v = 2 WHERE id = 1',
    }),
    session(103, {
      usename: 'carol',
      queryMs: 2_000,
      waitEvent: 'Lock:tuple',
      blockedBy: [102, 101],
      query: 'UPDATE t SET v = 3 WHERE id = 1',
    }),
    session(105, { usename: 'dave', queryMs: 1_500, waitEvent: 'Lock:relation', blockedBy: [900], query: 'LOCK t' }),
  ],
};

const rules = rulesFromPolicy(parsePolicy('{}', 'test').alerts);

/** Replay keys from the initial state, as the sink does, and render the frame. */
function replay(keys: string[], sample: Sample = SAMPLE): { view: ViewState; effects: Effect[]; lines: string[] } {
  let view = initialView();
  const effects: Effect[] = [];
  const input = { firing: [], top: 15, height: 60 };
  for (const key of keys) {
    const pids = visibleRows(view, sample, tableRoom(input)).map((r) => r.pid);
    const r = press(view, key, { pids, myPid: sample.myPid });
    view = r.state;
    if (r.effect) effects.push(r.effect);
  }
  const lines = renderFrame({
    view,
    sample,
    recent: [],
    problem: null,
    rules,
    target: 'app@db',
    intervalMs: 1_000,
    recycling: false,
    width: 160,
    color: false,
    ...input,
  });
  return { view, effects, lines };
}

const table = (lines: string[]) => lines.slice(lines.findIndex((l) => l.includes('PID')) + 1, lines.indexOf(''));
const pidsOf = (lines: string[]) => table(lines).map((l) => Number(/(\d+)/.exec(l)![1]));

describe('live view (keys → state → frame, no database)', () => {
  it('decodes arrows, Enter, Esc, Backspace and characters from raw terminal input', () => {
    expect(decodeKeys('\x1b[A\x1b[Bq\r\x1b\x7f/x\x03')).toEqual(['up', 'down', 'q', 'enter', 'esc', 'backspace', '/', 'x', 'ctrl-c']);
  });

  it('sorts by duration, then state (idle in transaction first), then user', () => {
    expect(pidsOf(replay([]).lines)).toEqual([101, 104, 102, 103, 105]);
    expect(pidsOf(replay(['s']).lines)).toEqual([101, 104, 102, 103, 105]);
    expect(pidsOf(replay(['s', 's']).lines)).toEqual([101, 102, 103, 105, 104]); // alice bob carol dave zed
    expect(replay(['s', 's']).lines.join('\n')).toMatch(/sort user/);
  });

  it('b shows the blocking tree: each waiter indented under its blocker, an unlisted blocker as its own row', () => {
    const { lines } = replay(['b']);
    const rows = table(lines);
    expect(pidsOf(lines)).toEqual([101, 102, 103, 900, 105]);
    expect(rows[0]).toMatch(/^> +101 +alice/);
    expect(rows[1]).toMatch(/└─ 102 +bob/);
    expect(rows[2]).toMatch(/ {2}└─ 103 +carol .*\(also waits on 101\)/); // under 102, its first blocker
    expect(rows[3]).toMatch(/900 +\(not listed/);
    expect(rows[4]).toMatch(/└─ 105 +dave/);
    expect(pidsOf(replay(['b', 'b']).lines)).toHaveLength(5);
    expect(replay(['b'], { ...SAMPLE, sessions: [SAMPLE.sessions[0]] }).lines.join('\n')).toMatch(/no session waits on a lock/);
  });

  it('/ filters on user, application, state or query; the tree keeps whole chains', () => {
    expect(pidsOf(replay(['/', 'c', 'a', 'r', 'o', 'l', 'enter']).lines)).toEqual([103]);
    expect(pidsOf(replay(['b', '/', 'c', 'a', 'r', 'o', 'l', 'enter']).lines)).toEqual([101, 102, 103]);
    const typing = replay(['/', 'z', 'x', 'backspace']);
    expect(typing.view.editing).toBe('z');
    expect(typing.lines.join('\n')).toMatch(/filter: z_/);
    expect(replay(['/', 'z', 'esc']).view.filter).toBe('');
    expect(replay(['/', 'n', 'o', 'p', 'e', 'enter']).lines.join('\n')).toMatch(/no session matches "nope"/);
    expect(replay(['/', 'q', 'enter']).effects).toEqual([]); // q while typing is a letter, not quit
  });

  it('arrows select; c and k ask for confirmation; y sends, any other key aborts', () => {
    const asked = replay(['b', 'down', 'c']);
    expect(table(asked.lines)[1]).toMatch(/^> /);
    expect(asked.lines.join('\n')).toMatch(/Cancel the query of pid 102 \(bob: UPDATE t SET v = 2 WHERE id = 1\)\? y to confirm/);
    expect(asked.effects).toEqual([]);
    expect(replay(['b', 'down', 'c', 'y']).effects).toEqual([{ type: 'signal', action: 'cancel', pid: 102 }]);
    expect(replay(['down', 'down', 'k', 'y']).effects).toEqual([{ type: 'signal', action: 'terminate', pid: 102 }]);
    const aborted = replay(['b', 'down', 'k', 'n']);
    expect(aborted.effects).toEqual([]);
    expect(aborted.lines.join('\n')).toMatch(/terminate of pid 102 not sent/);
    expect(replay(['up', 'up', 'c', 'y']).effects).toEqual([{ type: 'signal', action: 'cancel', pid: 101 }]);
  });

  it("refuses to act on the monitor's own session", () => {
    const own = { ...SAMPLE, sessions: [session(42, { blockedBy: [] }), ...SAMPLE.sessions.slice(1, 3)], myPid: 42 };
    const r = replay(['s', 's', 'down', 'c'], own);
    expect(r.effects).toEqual([]);
    expect(r.lines.join('\n')).toMatch(/refused: pid 42 is this monitor's own session/);
  });

  it('space pauses, a switches to the whole instance, q quits', () => {
    expect(replay([' ']).lines.join('\n')).toMatch(/PAUSED/);
    expect(replay([' ', ' ']).lines.join('\n')).not.toMatch(/PAUSED/);
    const inst = replay(['a']);
    expect(inst.effects).toEqual([{ type: 'scope', scope: 'instance' }]);
    expect(inst.lines[0]).toMatch(/app@db \(whole instance\)/);
    expect(inst.lines.join('\n')).toMatch(/DATABASE/);
    expect(replay(['a', 'a']).effects.at(-1)).toEqual({ type: 'scope', scope: 'database' });
    expect(replay(['q']).effects).toEqual([{ type: 'quit' }]);
  });
});
