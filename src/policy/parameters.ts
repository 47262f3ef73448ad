import type { Policy } from './schema.js';

/** Every parameter a policy names, at database level or for a role (for privilege look-ups). */
export function policyParameters(policy: Policy): string[] {
  const names = new Set(Object.keys(policy.settings));
  for (const entry of Object.values(policy.roles)) for (const name of Object.keys(entry.settings)) names.add(name);
  return [...names];
}
