import type { Client } from '../pg/client.js';
import { readDatabaseState, type SettingRow } from '../pg/catalog.js';
import { parseValue, sameValue } from '../pg/units.js';
import { effectiveFor, type ValueSource } from '../plan/effective.js';
import type { Policy } from '../policy/schema.js';

/**
 * What the configuration is, read from the catalog (not from the monitor's own session, whose
 * statement_timeout the monitor sets itself): the values a new session gets, as
 * postgres_exporter's pg_settings_* gauges, and per login role whether the policy's value is
 * the one it gets (pg_db_role_setting overrides included) — the drift signal.
 * Read every few seconds, not every poll: the catalog changes rarely and this costs a few queries.
 */
export interface SettingGauge {
  /** postgres_exporter's metric name: pg_settings_<name>[_seconds|_bytes]. */
  metric: string;
  name: string;
  value: number;
}

export interface Compliance {
  setting: string;
  role: string;
  compliant: boolean;
  /** The value a new session of the role gets, and where it comes from. */
  value: string;
  from: ValueSource;
}

export interface ConfigState {
  settings: SettingGauge[];
  compliance: Compliance[];
}

/** The server-wide parameters postgres_exporter's connection alerts (postgres mixin) divide by. */
const ALWAYS = ['max_connections', 'superuser_reserved_connections'];

const TIME_SECONDS: Record<string, number> = { us: 1e-6, ms: 1e-3, s: 1, min: 60, h: 3600, d: 86400 };
const MEMORY_BYTES: Record<string, number> = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/** As the exporter does: time in seconds, memory in bytes (an `8kB` unit counts 8192 bytes), booleans 1/0; text parameters have no gauge. */
export function settingGauge(name: string, meta: SettingRow, raw: string): SettingGauge | null {
  if (!['bool', 'integer', 'real'].includes(meta.vartype)) return null;
  const parsed = parseValue(meta, raw);
  if (!parsed.ok) return null;
  if (meta.vartype === 'bool')
    return { metric: `pg_settings_${name}`, name, value: parsed.canonical === 'on' || parsed.canonical === 'true' ? 1 : 0 };
  const n = Number(parsed.canonical);
  const m = meta.unit ? /^(\d*)(.+)$/.exec(meta.unit) : null;
  const multiple = m?.[1] ? Number(m[1]) : 1;
  if (m && m[2] in TIME_SECONDS) return { metric: `pg_settings_${name}_seconds`, name, value: n * multiple * TIME_SECONDS[m[2]] };
  if (m && m[2] in MEMORY_BYTES) return { metric: `pg_settings_${name}_bytes`, name, value: n * multiple * MEMORY_BYTES[m[2]] };
  return { metric: `pg_settings_${name}`, name, value: n };
}

export async function readConfigState(client: Client, database: string, policy: Pick<Policy, 'settings'>): Promise<ConfigState> {
  const state = await readDatabaseState(client, database);
  const settings: SettingGauge[] = [];
  for (const name of new Set([...Object.keys(policy.settings), ...ALWAYS])) {
    const meta = state.settings.get(name);
    if (!meta) continue;
    // A role-less lookup: database value, then ALTER ROLE ALL, then the server's.
    const raw = ALWAYS.includes(name) ? meta.setting : effectiveFor(state, '\0no role', name).value;
    const g = settingGauge(name, meta, raw);
    if (g) settings.push(g);
  }
  const compliance: Compliance[] = [];
  for (const [setting, target] of Object.entries(policy.settings)) {
    const meta = state.settings.get(setting);
    if (!meta || target === null) continue; // a RESET target has no value to compare with
    for (const role of state.loginRoles) {
      const eff = effectiveFor(state, role.name, setting);
      compliance.push({ setting, role: role.name, compliant: sameValue(meta, eff.value, target), value: eff.value, from: eff.from });
    }
  }
  return { settings, compliance };
}
