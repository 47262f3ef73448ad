import { formatValue, parseValue, type ParamMeta } from '../pg/units.js';
import type { RunRecord } from '../run/run.js';

export interface SettingRow {
  setting: string;
  before: string;
  target: string;
  after: string;
  ok: boolean | null;
}

/**
 * A value as SHOW and `plan` write it: `4096` kB → `4MB`, `300000` ms → `5min`. The baseline keeps
 * each parameter's unit; values without a unit, or that do not parse as numbers, stay as they are.
 */
export function displayValue(r: RunRecord, name: string, raw: string | number | boolean): string {
  const unit = r.baseline?.settings.find((s) => s.name === name)?.unit ?? null;
  if (!unit) return String(raw);
  const meta: ParamMeta = { name, vartype: 'real', unit, min: null, max: null, enumvals: null };
  const parsed = parseValue(meta, raw);
  return parsed.ok ? formatValue(meta, parsed.canonical) : String(raw);
}

/**
 * The policy's setting names in the policy's order. A record read back from the state schema went
 * through jsonb, which reorders object keys (shortest first): the plan's rows, an array, keep the
 * order `plan` showed, so they lead; keys the plan does not list follow.
 */
export function policyOrder(r: RunRecord): string[] {
  const planned = ((r.apply?.plan as { rows?: { setting: string }[] } | undefined)?.rows ?? []).map((row) => row.setting);
  const names = Object.keys(r.policy.settings);
  return [...planned.filter((n) => names.includes(n)), ...names.filter((n) => !planned.includes(n))];
}

/** The policy's settings in the policy's own order, then the connection limit, in PostgreSQL's display units. */
export function settingRows(r: RunRecord): SettingRow[] {
  const db = r.baseline?.dbRoleSettings.dbSettings ?? [];
  const rows = policyOrder(r).map((setting) => {
    const target = r.policy.settings[setting];
    const live = r.verify?.checks.find((c) => c.name === `${setting} live`);
    const atDb = db.find((s) => s.name === setting)?.value;
    const server = r.baseline?.settings.find((s) => s.name === setting)?.setting;
    return {
      setting,
      before:
        atDb !== undefined
          ? displayValue(r, setting, atDb)
          : `not set (server: ${server === undefined ? '?' : displayValue(r, setting, server)})`,
      target: target === null ? 'RESET' : displayValue(r, setting, target as string | number | boolean),
      after: live ? displayValue(r, setting, live.actual ?? live.expected ?? '?') : '—',
      ok: live ? live.ok : null,
    };
  });
  if (r.policy.connection_limit !== undefined) {
    const check = r.verify?.checks.find((c) => c.name === 'connection_limit');
    const limit = r.baseline?.database.connLimit;
    rows.push({
      setting: 'connection_limit',
      before: limit === undefined ? '?' : limit === -1 ? '-1 (no limit)' : String(limit),
      target: String(r.policy.connection_limit),
      after: check?.actual ?? '—',
      ok: check ? check.ok : null,
    });
  }
  return rows;
}
