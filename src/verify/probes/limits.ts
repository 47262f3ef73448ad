import type { SettingRow } from '../../pg/catalog.js';
import { parseValue, toMilliseconds } from '../../pg/units.js';
import type { Policy } from '../../policy/schema.js';

/** What the policy asks of a timeout parameter, in ms, or why there is nothing to probe. */
export type PolicyTimeout = { ms: number } | { skip: string };

/** The policy's value of timeout parameter `name` in ms, read with this server's pg_settings metadata. */
export function policyTimeout(policy: Policy, settings: Map<string, SettingRow>, name: string): PolicyTimeout | null {
  if (!(name in policy.settings)) return null;
  const raw = policy.settings[name];
  if (raw === null) return { skip: `the policy resets ${name}, so there is no limit to prove` };
  const meta = settings.get(name);
  if (!meta) return { skip: `this server has no parameter ${name}` };
  const parsed = parseValue(meta, raw);
  const ms = parsed.ok ? toMilliseconds(meta, parsed.canonical) : null;
  if (ms === null) return { skip: `cannot read ${JSON.stringify(raw)} as a duration for ${name}` };
  if (ms <= 0) return { skip: `the policy disables ${name} (0), so there is no limit to prove` };
  return { ms };
}
