import { listKind, storedListText } from './guc-list.js';

/**
 * Parameter values the way PostgreSQL reads them (guc.c): units, rounding, ranges,
 * booleans and enums, so `30s`, `30000` and `0.5min` compare equal for statement_timeout.
 */
export interface ParamMeta {
  name: string;
  vartype: 'bool' | 'integer' | 'real' | 'string' | 'enum';
  unit: string | null;
  min: number | null;
  max: number | null;
  enumvals: string[] | null;
}

export type Parsed = { ok: true; canonical: string } | { ok: false; error: string };

const MEMORY_UNITS: Record<string, number> = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };
const TIME_UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };
const TRUE_WORDS = ['on', 'true', 'yes', '1', 't', 'y'];
const FALSE_WORDS = ['off', 'false', 'no', '0', 'f', 'n'];

/** `8kB` → { family: memory, factor: 8192 } for a pg_settings unit column. */
function baseUnit(unit: string | null): { family: 'memory' | 'time'; factor: number } | null {
  const m = unit ? /^(\d*)(.+)$/.exec(unit) : null;
  if (!m) return null;
  const multiple = m[1] ? Number(m[1]) : 1;
  if (m[2] in MEMORY_UNITS) return { family: 'memory', factor: multiple * MEMORY_UNITS[m[2]] };
  if (m[2] in TIME_UNITS) return { family: 'time', factor: multiple * TIME_UNITS[m[2]] };
  return null;
}

/** A value quoted in a message: JSON, cut after 60 characters so a 20 kB value stays a one-line message. */
export function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 60)}…" (${String(value).length} characters)` : text;
}

/** Parse `raw` for parameter `meta`; canonical form compares equal for equal values. */
export function parseValue(meta: ParamMeta, raw: string | number | boolean): Parsed {
  const text = String(raw).trim();
  switch (meta.vartype) {
    case 'bool': {
      const lower = text.toLowerCase();
      if (TRUE_WORDS.includes(lower)) return { ok: true, canonical: 'on' };
      if (FALSE_WORDS.includes(lower)) return { ok: true, canonical: 'off' };
      return { ok: false, error: `${meta.name} is a boolean: use on or off, not ${shown(raw)}` };
    }
    case 'enum': {
      const match = meta.enumvals?.find((v) => v.toLowerCase() === text.toLowerCase());
      return match !== undefined
        ? { ok: true, canonical: match }
        : { ok: false, error: `${shown(raw)} is not a value of ${meta.name}; allowed: ${meta.enumvals?.join(', ')}` };
    }
    case 'string': {
      // List parameters compare element by element, in the form the server stores them.
      const kind = listKind(meta.name);
      if (!kind) return { ok: true, canonical: String(raw) };
      const stored = storedListText(kind, String(raw));
      return stored !== null
        ? { ok: true, canonical: stored }
        : {
            ok: false,
            error: `${shown(raw)} is not a valid list for ${meta.name}: separate names with commas, double-quote a name that holds commas, spaces or capitals ("My Schema")`,
          };
    }
    default:
      return parseNumber(meta, text, raw);
  }
}

function parseNumber(meta: ParamMeta, text: string, raw: unknown): Parsed {
  const m = /^([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z]*)$/.exec(text);
  if (!m) return { ok: false, error: `${shown(raw)} is not a number for ${meta.name}` };
  let value = Number(m[1]);
  const given = m[2];
  const base = baseUnit(meta.unit);
  if (given) {
    const table = base?.family === 'memory' ? MEMORY_UNITS : base?.family === 'time' ? TIME_UNITS : null;
    if (!base || !table) return { ok: false, error: `${meta.name} takes no unit, but ${shown(raw)} has one` };
    if (!(given in table)) {
      return {
        ok: false,
        error: `${shown(raw)}: unit "${given}" is not valid for ${meta.name}; valid units: ${Object.keys(table).join(', ')} (case matters)`,
      };
    }
    value = (value * table[given]) / base.factor;
  }
  if (meta.vartype === 'integer') {
    value = Math.round(value);
    if (!Number.isSafeInteger(value)) return { ok: false, error: `${shown(raw)} is out of range for ${meta.name}` };
  }
  if ((meta.min !== null && value < meta.min) || (meta.max !== null && value > meta.max)) {
    return {
      ok: false,
      error: `${shown(raw)} is out of range for ${meta.name}: allowed ${formatValue(meta, meta.min!)} .. ${formatValue(meta, meta.max!)}`,
    };
  }
  return { ok: true, canonical: String(value) };
}

/** Whether two raw values mean the same setting (unparseable values compare as text). */
export function sameValue(meta: ParamMeta, a: string | number | boolean, b: string | number | boolean): boolean {
  const pa = parseValue(meta, a);
  const pb = parseValue(meta, b);
  return pa.ok && pb.ok ? pa.canonical === pb.canonical : String(a) === String(b);
}

/** A value in the parameter's own unit, written with the largest unit that divides it (as SHOW does). */
export function formatValue(meta: ParamMeta, value: number | string): string {
  const n = Number(value);
  const base = baseUnit(meta.unit);
  if (!base || !Number.isFinite(n)) return String(value);
  if (n <= 0) return String(n);
  const bytesOrMs = n * base.factor;
  const table = base.family === 'memory' ? MEMORY_UNITS : TIME_UNITS;
  const fitting = Object.entries(table)
    .filter(([, f]) => f >= base.factor && Number.isInteger(bytesOrMs / f))
    .pop();
  return fitting ? `${bytesOrMs / fitting[1]}${fitting[0]}` : `${n}${meta.unit}`;
}

/** Milliseconds of a time parameter's canonical value (for comparing with durations). */
export function toMilliseconds(meta: ParamMeta, canonical: string): number | null {
  const base = baseUnit(meta.unit);
  return base?.family === 'time' ? Number(canonical) * base.factor : null;
}
