import type { Log } from '../log.js';
import type { RoleValue, VerifyResult } from '../verify/verify.js';
import { mark, table } from './table.js';

/**
 * One summary line per setting, ✔ only when the fresh session and every login role get the
 * target; what fails listed under it: role overrides by name with their fix, roles that merely
 * inherit a wrong database or server value in one line. --verbose adds every role's value.
 */
export function renderVerifySummary(log: Log, r: VerifyResult, verbose: boolean): void {
  const bySetting = new Map<string, VerifyResult['checks']>();
  for (const c of r.checks) {
    const key = c.setting ?? c.name;
    bySetting.set(key, [...(bySetting.get(key) ?? []), c]);
  }
  for (const [setting, checks] of bySetting) {
    const ok = checks.every((c) => c.ok);
    const roles = r.roleValues.filter((v) => v.setting === setting);
    if (!roles.length) {
      // connection_limit, a RESET, an unknown parameter: one check, its message is the summary.
      for (const c of checks) log.info(`  ${mark(c.ok)} ${c.message}`);
      continue;
    }
    const target = checks.find((c) => c.expected)?.expected;
    log.info(`  ${mark(ok)} ${setting} = ${target}: ${roles.filter((v) => v.ok).length} of ${roles.length} login role(s) get it`);
    const live = checks.find((c) => c.name.endsWith(' live'));
    if (live && !live.ok) log.info(`      ✘ ${live.message}`);
    for (const c of checks) {
      if (c.ok || !c.fix) continue; // overrides: named, with the SQL that removes them
      log.info(`      ✘ ${c.message}`);
      log.info(`        fix: ${c.fix}`);
    }
    for (const line of inherited(roles.filter((v) => !v.ok && !v.from.startsWith('role')))) log.info(`      ✘ ${line}`);
  }
  if (r.sessionsOnOldSettings)
    log.info(
      `  note: ${r.sessionsOnOldSettings} session(s) started before the latest apply still run on the old settings (pgharden status)`,
    );
  if (verbose && r.roleValues.length) {
    log.info('');
    log.info(
      table(
        ['setting', 'role', 'value', 'from', 'ok'],
        r.roleValues.map((v) => [v.setting, v.role, v.value, v.from, v.ok ? 'yes' : 'NO']),
      ),
    );
  }
}

/** Roles that get a wrong value from the database or server level, grouped: "postgres, app get 0 from the server level". */
function inherited(values: RoleValue[]): string[] {
  const groups = new Map<string, string[]>();
  for (const v of values) {
    const key = `${v.setting} = ${v.value} from the ${v.from} level`;
    groups.set(key, [...(groups.get(key) ?? []), v.role]);
  }
  return [...groups].map(
    ([what, roles]) =>
      `${roles.length > 6 ? `${roles.slice(0, 6).join(', ')} and ${roles.length - 6} more` : roles.join(', ')} get ${what}`,
  );
}
