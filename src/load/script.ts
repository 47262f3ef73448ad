import path from 'node:path';
import { UsageError } from '../errors.js';
import type { RoundTripDef, StatementDef, Workload } from './workloads/types.js';

/**
 * `loadtest --script FILE[@weight]`: a pgbench-compatible subset of its custom scripts, so a team
 * runs its own queries under the new timeouts.
 *
 *   \set name expr      integers: + - * / % ( ), :var, random(lo, hi), abs(x), least(…), greatest(…)
 *   \sleep n [us|ms|s]  a pause before the next command (a constant)
 *   SQL;                each command is one round trip, as pgbench sends it (BEGIN; … END; work)
 *
 * `:name` in SQL becomes a bind parameter ($1, $2…) of the prepared statement, as pgbench -M
 * prepared does: it must stand where a value goes. Built-in variables: scale, client_id.
 * Variables hold int4 values (the load generator binds int4). Anything else is refused with
 * the file and line, before any connection is opened.
 */
export interface ScriptSpec {
  file: string;
  weight: number;
  text: string;
}

const INT4_MIN = -2147483648;
const INT4_MAX = 2147483647;
const BUILTINS = ['scale', 'client_id'];

/** A value outside int4, a division by zero, an empty random() range: counted as SQLSTATE 22003/22012 on the command's step. */
export class ScriptRuntimeError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** `FILE` or `FILE@WEIGHT` (a positive integer, as pgbench's -f file@weight). */
export function parseScriptArg(arg: string): { file: string; weight: number } {
  const m = /^(.*)@(\d+)$/.exec(arg);
  if (!m) return { file: arg, weight: 1 };
  const weight = Number(m[2]);
  if (!m[1] || weight < 1) throw new UsageError(`--script ${arg}: expected FILE or FILE@WEIGHT with a weight of 1 or more`);
  return { file: m[1], weight };
}

type Expr = (vars: Float64Array) => number;

interface Command {
  line: number;
  sets: { slot: number; expr: Expr }[];
  sleepMs: number;
  sql: string;
  /** Variable slots of $1, $2… */
  params: number[];
}

interface Compiled {
  name: string;
  weight: number;
  commands: Command[];
}

/**
 * Parse and check every script; returns a factory of per-client workloads (each client has
 * its own variables, as pgbench's). `clientId` is the built-in :client_id.
 */
export function compileScripts(specs: ScriptSpec[], scale: number): (clientId: number) => Workload {
  if (!specs.length) throw new UsageError('--script: no script given');
  const slots = new Map<string, number>(BUILTINS.map((b, i) => [b, i]));
  const scripts = specs.map((spec) => compileOne(spec, slots));
  const nVars = slots.size;
  return (clientId) => {
    const vars = new Float64Array(nVars);
    vars[0] = scale;
    vars[1] = clientId;
    const statements: StatementDef[] = [];
    const transactions = scripts.map((s, i) => ({
      name: s.name,
      weight: s.weight,
      roundTrips: s.commands.map((c, j): RoundTripDef => {
        const name = `pgharden_script_${i}_${j}`;
        statements.push({ name, sql: c.sql, params: c.params.length });
        const step = `${s.name}:${c.line}`;
        return {
          ...(c.sleepMs ? { thinkMs: c.sleepMs, thinkStep: `${step} (sleep)` } : {}),
          prepare: c.sets.length
            ? () => {
                for (const set of c.sets) vars[set.slot] = set.expr(vars);
              }
            : undefined,
          steps: [{ step, statement: name, params: c.params.map((slot) => () => int4(vars[slot], step)) }],
        };
      }),
    }));
    return { name: 'script', statements, transactions };
  };
}

function int4(v: number, step: string): number {
  if (v < INT4_MIN || v > INT4_MAX) throw new ScriptRuntimeError(`${step}: value ${v} is out of range for the int4 parameter`, '22003');
  return v;
}

function compileOne(spec: ScriptSpec, slots: Map<string, number>): Compiled {
  const name = path.basename(spec.file);
  const fail = (line: number, why: string): never => {
    throw new UsageError(`--script ${spec.file}:${line}: ${why}`);
  };
  const set = new Set(BUILTINS);
  const commands: Command[] = [];
  let pendingSets: Command['sets'] = [];
  let pendingSleep = 0;
  const text = spec.text.replace(/\r\n?/g, '\n');
  let i = 0;
  let line = 1;
  while (i < text.length) {
    // Skip blank space and whole-line comments between commands.
    const ws = /^(?:\s+|--[^\n]*)/.exec(text.slice(i));
    if (ws) {
      line += (ws[0].match(/\n/g) ?? []).length;
      i += ws[0].length;
      continue;
    }
    if (text[i] === '\\') {
      const end = text.indexOf('\n', i);
      const meta = text
        .slice(i + 1, end < 0 ? text.length : end)
        .replace(/--.*$/, '')
        .trim();
      const [cmd, ...args] = meta.split(/\s+/);
      if (cmd === 'set') {
        if (args.length < 2 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(args[0])) fail(line, '\\set needs a variable name and an expression');
        const expr = parseExpr(args.slice(1).join(' '), set, slots, (why) => fail(line, why));
        if (!slots.has(args[0])) slots.set(args[0], slots.size);
        set.add(args[0]);
        pendingSets.push({ slot: slots.get(args[0])!, expr });
      } else if (cmd === 'sleep') {
        const m = /^(\d+)\s*(us|ms|s)?$/.exec(args.join(' '));
        if (!m) fail(line, '\\sleep takes a constant: \\sleep 10 ms (units us, ms, s; default s)');
        pendingSleep += Number(m![1]) * { us: 0.001, ms: 1, s: 1000 }[(m![2] ?? 's') as 'us' | 'ms' | 's'];
      } else {
        fail(line, `\\${cmd} is not supported (this subset of pgbench has \\set and \\sleep)`);
      }
      line++;
      i = end < 0 ? text.length : end + 1;
      continue;
    }
    const { sql, length, lines } = scanCommand(text, i);
    const params: number[] = [];
    const byName = new Map<string, number>();
    const bound = replaceVariables(sql, (v) => {
      if (!set.has(v)) fail(line, `:${v} is used before any \\set of it`);
      if (!byName.has(v)) {
        byName.set(v, byName.size + 1);
        params.push(slots.get(v)!);
      }
      return `$${byName.get(v)}`;
    });
    if (bound.trim()) commands.push({ line, sets: pendingSets, sleepMs: pendingSleep, sql: bound, params });
    pendingSets = [];
    pendingSleep = 0;
    line += lines;
    i += length;
  }
  if (!commands.length) fail(1, 'no SQL command in the script');
  return { name, weight: spec.weight, commands };
}

/** One SQL command from `start`: up to a `;` outside quotes, comments and parentheses (or the end). */
function scanCommand(text: string, start: number): { sql: string; length: number; lines: number } {
  let depth = 0;
  let i = start;
  while (i < text.length) {
    const skip = skipQuoted(text, i);
    if (skip >= 0) {
      i = skip;
      continue;
    }
    const c = text[i++];
    if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    else if (c === ';' && depth === 0) break;
  }
  const raw = text.slice(start, i);
  return { sql: raw.replace(/;\s*$/, ''), length: raw.length, lines: (raw.match(/\n/g) ?? []).length };
}

/** Where a quoted string, comment or dollar-quoted body starting at `i` ends, or -1 when none starts there. */
function skipQuoted(text: string, i: number): number {
  const c = text[i];
  const after = (close: number, len: number) => (close < 0 ? text.length : close + len);
  if (c === "'" || c === '"') return after(text.indexOf(c, i + 1), 1);
  if (text.startsWith('--', i)) return after(text.indexOf('\n', i), 0);
  if (text.startsWith('/*', i)) return after(text.indexOf('*/', i + 2), 2);
  const dollar = c === '$' ? /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i)) : null;
  if (dollar) return after(text.indexOf(dollar[0], i + dollar[0].length), dollar[0].length);
  return -1;
}

/** Replace `:name` outside quotes and comments (not `::` casts) with what `to` returns. */
function replaceVariables(sql: string, to: (name: string) => string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const skip = skipQuoted(sql, i);
    if (skip >= 0) {
      out += sql.slice(i, skip);
      i = skip;
      continue;
    }
    if (sql.startsWith('::', i)) {
      out += '::';
      i += 2;
      continue;
    }
    const v = sql[i] === ':' ? /^:([A-Za-z_][A-Za-z0-9_]*)/.exec(sql.slice(i)) : null;
    if (v) {
      out += to(v[1]);
      i += v[0].length;
      continue;
    }
    out += sql[i++];
  }
  return out;
}

/** A pgbench integer expression, compiled to a closure over the client's variables. */
function parseExpr(src: string, known: Set<string>, slots: Map<string, number>, fail: (why: string) => never): Expr {
  const tokens = src.match(/\d+\.\d*|\.\d+|\d+|:[A-Za-z_][A-Za-z0-9_]*|[A-Za-z_][A-Za-z0-9_]*|[-+*/%(),]|\S/g) ?? [];
  let p = 0;
  const peek = () => tokens[p];
  const take = (t?: string) => {
    const tok = tokens[p++];
    if (t !== undefined && tok !== t) fail(`expected "${t}" in "${src}", found ${tok === undefined ? 'the end' : `"${tok}"`}`);
    return tok;
  };
  const expr = (): Expr => {
    let left = term();
    while (peek() === '+' || peek() === '-') {
      const op = take();
      const l = left,
        r = term();
      left = op === '+' ? (v) => l(v) + r(v) : (v) => l(v) - r(v);
    }
    return left;
  };
  const term = (): Expr => {
    let left = unary();
    while (peek() === '*' || peek() === '/' || peek() === '%') {
      const op = take();
      const l = left,
        r = unary();
      left = op === '*' ? (v) => l(v) * r(v) : op === '/' ? (v) => Math.trunc(l(v) / nonZero(r(v))) : (v) => l(v) % nonZero(r(v));
    }
    return left;
  };
  const unary = (): Expr => {
    if (peek() === '-') {
      take();
      const e = unary();
      return (v) => -e(v);
    }
    if (peek() === '+') take();
    return primary();
  };
  const primary = (): Expr => {
    const tok = take();
    if (tok === undefined) fail(`incomplete expression "${src}"`);
    if (/^\d+$/.test(tok)) {
      const n = Number(tok);
      return () => n;
    }
    if (/^[\d.]/.test(tok)) fail(`${tok}: only integers in this subset of pgbench`);
    if (tok === '(') {
      const e = expr();
      take(')');
      return e;
    }
    if (tok.startsWith(':')) {
      const name = tok.slice(1);
      if (!known.has(name)) fail(`:${name} is used before any \\set of it`);
      const slot = slots.get(name)!;
      return (v) => v[slot];
    }
    if (/^[A-Za-z_]/.test(tok)) {
      take('(');
      const args: Expr[] = [];
      if (peek() !== ')') {
        args.push(expr());
        while (peek() === ',') {
          take();
          args.push(expr());
        }
      }
      take(')');
      return call(tok.toLowerCase(), args, fail);
    }
    return fail(`unexpected "${tok}" in "${src}"`);
  };
  const e = expr();
  if (p < tokens.length) fail(`unexpected "${tokens[p]}" in "${src}"`);
  return e;
}

function nonZero(n: number): number {
  if (n === 0) throw new ScriptRuntimeError('division by zero in a \\set expression', '22012');
  return n;
}

function call(name: string, args: Expr[], fail: (why: string) => never): Expr {
  const arity = (n: number) => args.length === n || fail(`${name}() takes ${n} argument(s), got ${args.length}`);
  switch (name) {
    case 'random': {
      arity(2);
      const [lo, hi] = args;
      return (v) => {
        const a = lo(v),
          b = hi(v);
        if (a > b) throw new ScriptRuntimeError(`empty range given to random(${a}, ${b})`, '22003');
        return a + Math.floor(Math.random() * (b - a + 1));
      };
    }
    case 'abs': {
      arity(1);
      const [x] = args;
      return (v) => Math.abs(x(v));
    }
    case 'least':
    case 'greatest': {
      if (!args.length) fail(`${name}() needs at least one argument`);
      const pick = name === 'least' ? Math.min : Math.max;
      return (v) => pick(...args.map((a) => a(v)));
    }
    default:
      return fail(`${name}() is not supported (random, abs, least, greatest)`);
  }
}
