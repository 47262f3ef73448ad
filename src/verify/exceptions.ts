import type { DatabaseState } from '../pg/catalog.js';
import { effectiveFor } from '../plan/effective.js';
import { describeValue } from '../plan/findings.js';
import { comparatorFor, EXPIRY_WARNING_DAYS, type DeclaredRole } from '../plan/role-values.js';
import type { Policy } from '../policy/schema.js';
import type { Check } from './verify.js';

/**
 * Checks for the policy's `roles:`: each declared value is what new sessions of that role get
 * (from the catalog's precedence, no password needed), a declared RESET left no role entry in
 * this database, expired exceptions fail and ones about to expire warn, and one summary line
 * says how many roles run under declared exceptions.
 */
export function exceptionChecks(state: DatabaseState, policy: Policy, declared: DeclaredRole[]): Check[] {
  const checks: Check[] = [];
  for (const d of declared) {
    for (const [name, value] of Object.entries(d.settings)) checks.push(valueCheck(state, d.role, name, value));
    const expiry = expiryCheck(d);
    if (expiry) checks.push(expiry);
  }
  const exceptions = declared.filter((d) => d.looser.length);
  if (declared.length) {
    checks.push({
      name: 'declared role exceptions',
      ok: true,
      message:
        `${exceptions.length} role(s) run under declared exceptions` +
        (exceptions.length
          ? `: ${exceptions.map((d) => `${d.role} (${d.looser.map((n) => `${n} = ${String(d.settings[n])}`).join(', ')}; ${d.reason}${d.expires ? `; expires ${d.expires}` : ''})`).join('; ')}`
          : '') +
        (declared.length > exceptions.length
          ? `; ${declared.length - exceptions.length} more with declared values no looser than the database targets`
          : ''),
    });
  }
  return checks;
}

function valueCheck(state: DatabaseState, role: string, name: string, value: string | number | boolean | null): Check {
  const base = { name: `${name} for ${role} (declared)`, setting: name, role };
  if (value === null) {
    const left = state.roleSettings.find((r) => r.role === role && r.scope === 'in-database' && r.name === name);
    return {
      ...base,
      ok: !left,
      expected: '(not set)',
      actual: left?.value ?? '(not set)',
      message: left
        ? `role ${role} still has its own ${name} = ${left.value} in database ${state.database.name}`
        : `role ${role} has no value of its own for ${name} in database ${state.database.name}`,
    };
  }
  const cmp = comparatorFor(state.settings.get(name), name, value);
  if ('error' in cmp) return { ...base, ok: false, message: `${name} is not a parameter this server can check (${cmp.error})` };
  const eff = effectiveFor(state, role, name);
  const ok = cmp.matches(eff.value);
  const shown = describeValue(state, name, eff.value);
  return {
    ...base,
    ok,
    expected: cmp.target,
    actual: shown,
    message: ok
      ? `new sessions of ${role} get ${name} = ${cmp.target}, as declared`
      : `new sessions of ${role} get ${name} = ${shown} from the ${eff.from} level, not the declared ${cmp.target}`,
  };
}

function expiryCheck(d: DeclaredRole): Check | null {
  const base = { name: `exception for ${d.role} expiry`, role: d.role, expected: `on or before ${d.expires}` };
  if (d.expiry === 'expired') {
    return {
      ...base,
      ok: false,
      message: `the declared exception for role ${d.role} expired on ${d.expires} (${d.reason ?? 'no reason given'}): renew expires: or remove the exception`,
    };
  }
  if (d.expiry === 'expiring') {
    return {
      ...base,
      ok: true,
      warning: true,
      message: `the declared exception for role ${d.role} expires on ${d.expires}, in ${d.daysLeft} day(s) (warning from ${EXPIRY_WARNING_DAYS} days before)`,
    };
  }
  return null;
}
