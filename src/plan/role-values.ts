import type { DatabaseState } from '../pg/catalog.js';
import { formatValue, parseValue, type ParamMeta } from '../pg/units.js';
import type { Policy } from '../policy/schema.js';

/**
 * How a parameter's values compare, for the policy's database targets and the role values
 * declared under `roles:`. A parameter pg_settings knows is parsed with its units; a custom
 * dotted one (`myapp.flag`, unknown to pg_settings until a module defines it) is plain text
 * compared exactly, which is also how the server stores and returns it.
 */
export interface Comparator {
  /** The value as messages show it. */
  target: string;
  matches(value: string): boolean;
}

export function comparatorFor(meta: ParamMeta | undefined, name: string, raw: string | number | boolean): Comparator | { error: string } {
  if (!meta) {
    if (!name.includes('.')) return { error: 'unknown' };
    const text = String(raw);
    return { target: text, matches: (v) => v === text };
  }
  const wanted = parseValue(meta, raw);
  if (!wanted.ok) return { error: wanted.error };
  return {
    target: formatValue(meta, wanted.canonical),
    matches: (v) => {
      const p = parseValue(meta, v);
      return p.ok && p.canonical === wanted.canonical;
    },
  };
}

/**
 * Whether `value` is looser than the database `target`: for numbers, larger is looser and the
 * "off" value (0 for a timeout whose minimum is 0, -1 where the minimum is -1, e.g.
 * temp_file_limit, log_min_duration_statement) is loosest; for anything else (booleans, enums,
 * text) any different value counts as looser, because pgharden cannot know which way is safer.
 */
export function isLooser(meta: ParamMeta | undefined, value: string | number | boolean, target: string | number | boolean): boolean {
  if (!meta || (meta.vartype !== 'integer' && meta.vartype !== 'real')) {
    if (!meta) return String(value) !== String(target);
    const a = parseValue(meta, value);
    const b = parseValue(meta, target);
    return !(a.ok && b.ok && a.canonical === b.canonical);
  }
  const rank = (raw: string | number | boolean) => {
    const p = parseValue(meta, raw);
    if (!p.ok) return NaN;
    const n = Number(p.canonical);
    const off = (n === 0 && meta.min === 0 && meta.unit !== null && /s$|min$|h$|d$/.test(meta.unit)) || (n === -1 && meta.min === -1);
    return off ? Infinity : n;
  };
  return rank(value) > rank(target);
}

/** One role's declared values in this database, with what verify and the report need to say about them. */
export interface DeclaredRole {
  role: string;
  settings: Record<string, string | number | boolean | null>;
  reason?: string;
  expires?: string;
  /** Parameters whose declared value is looser than the database target: the exceptions proper. */
  looser: string[];
  /** 'expired' after the expiry day, 'expiring' within EXPIRY_WARNING_DAYS of it. */
  expiry: 'none' | 'ok' | 'expiring' | 'expired';
  daysLeft: number | null;
}

/** Warn this many days before a declared exception expires. */
export const EXPIRY_WARNING_DAYS = 14;

/** Days from `now` (UTC day) to the end of the expiry day; negative once it has passed. */
function daysUntil(expires: string, now: Date): number {
  const end = Date.parse(`${expires}T00:00:00Z`);
  const today = Date.parse(`${now.toISOString().slice(0, 10)}T00:00:00Z`);
  return Math.round((end - today) / 86_400_000);
}

/** The policy's `roles:`, classified against the database targets; `now` is a parameter so tests need no clock. */
export function declaredRoles(state: DatabaseState, policy: Policy, now = new Date()): DeclaredRole[] {
  return Object.entries(policy.roles).map(([role, entry]) => {
    const looser = Object.entries(entry.settings)
      .filter(([name, value]) => {
        const target = policy.settings[name];
        return value !== null && target !== undefined && target !== null && isLooser(state.settings.get(name), value, target);
      })
      .map(([name]) => name);
    const daysLeft = entry.expires ? daysUntil(entry.expires, now) : null;
    const expiry = daysLeft === null ? 'none' : daysLeft < 0 ? 'expired' : daysLeft <= EXPIRY_WARNING_DAYS ? 'expiring' : 'ok';
    return { role, settings: entry.settings, reason: entry.reason, expires: entry.expires, looser, expiry, daysLeft };
  });
}

/** Policy errors in `roles:` that need the server's units: a looser value without a reason. */
export function roleValueProblems(declared: DeclaredRole[], policy: Policy): string[] {
  return declared
    .filter((d) => d.looser.length && !d.reason)
    .map(
      (d) =>
        `roles.${d.role}: ${d.looser.map((n) => `${n} = ${String(d.settings[n])}`).join(', ')} is looser than the database target ` +
        `(${d.looser.map((n) => `${n} = ${String(policy.settings[n])}`).join(', ')}); an exception needs reason: (who needs it and the ticket)`,
    );
}

/** The declared value of `name` for `role` (undefined: not declared; null: declared RESET). */
export function declaredValue(policy: Policy, role: string, name: string): string | number | boolean | null | undefined {
  const entry = Object.hasOwn(policy.roles, role) ? policy.roles[role] : undefined;
  return entry && Object.hasOwn(entry.settings, name) ? entry.settings[name] : undefined;
}
