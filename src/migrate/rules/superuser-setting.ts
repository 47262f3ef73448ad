import { at, type Finding, type Rule } from '../lint-types.js';
import { settingChange } from '../settings.js';

const SUPERUSER_CONTEXTS = new Set(['superuser', 'superuser-backend']);

export const superuserSetting: Rule = {
  name: 'superuser-setting',
  severity: 'error',
  summary: 'a superuser-context parameter set by a role that is not a superuser (and was not granted SET on it)',
  check(file, ctx) {
    const findings: Finding[] = [];
    const target = ctx.target;
    for (const stmt of file.statements) {
      const change = settingChange(stmt);
      if (!change || change.scope === 'system') continue;
      const context = ctx.catalog.contextOf(change.name);
      if (!context || !SUPERUSER_CONTEXTS.has(context)) continue;
      if (target && (target.superuser || target.canSet[change.name])) continue;
      const who = target
        ? 'the connected role is not a superuser and has no SET privilege on it'
        : 'the role that applies this must be a superuser';
      findings.push(
        at(stmt, `${change.name} is a ${context} parameter: ${who}`, {
          severity: target ? 'error' : 'warning',
          fix: `apply as a superuser, or GRANT SET ON PARAMETER ${change.name} TO <role> (PostgreSQL 15+)`,
        }),
      );
    }
    return findings;
  },
};
