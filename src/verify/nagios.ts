import { NagiosCode, type NagiosStatus } from '../monitor/nagios.js';
import type { VerifyResult } from './verify.js';

export interface VerifyNagios {
  status: NagiosStatus;
  exitCode: number;
  line: string;
}

/**
 * `verify --once`: check_postgres' settings_checksum done by effective value per role, not a hash.
 * CRITICAL a setting drifted or a role override defeats it (or a probe failed); UNKNOWN a setting
 * this server cannot check; WARNING everything is in force but only advisory items differ
 * (sessions still on pre-apply settings, probes that could not run); OK otherwise.
 */
export function verifyNagios(r: VerifyResult): VerifyNagios {
  const unknown = r.checks.filter((c) => c.name.endsWith(' known'));
  const failed = r.checks.filter((c) => !c.ok && !c.name.endsWith(' known'));
  const failedProbes = r.probes?.filter((p) => p.status === 'failed') ?? [];
  const skippedProbes = r.probes?.filter((p) => p.status === 'skipped') ?? [];
  const settings = new Set(r.checks.map((c) => c.setting ?? c.name));
  const drifted = new Set(failed.map((c) => c.setting ?? c.name));
  const defeatingRoles = new Set(r.roleValues.filter((v) => !v.ok).map((v) => v.role));

  let status: NagiosStatus;
  let text: string;
  if (failed.length || failedProbes.length) {
    status = 'CRITICAL';
    text = [...[...drifted].map((setting) => driftText(r, setting)), ...failedProbes.map((p) => p.message)].join('; ');
  } else if (unknown.length) {
    status = 'UNKNOWN';
    text = unknown.map((c) => c.message).join('; ');
  } else if (r.sessionsOnOldSettings || skippedProbes.length) {
    status = 'WARNING';
    const notes = [];
    if (r.sessionsOnOldSettings) notes.push(`${r.sessionsOnOldSettings} session(s) started before the apply still run on the old settings`);
    if (skippedProbes.length) notes.push(`${skippedProbes.length} probe(s) could not run`);
    text = `${r.database}: the policy is in force for new sessions, but ${notes.join(', ')}`;
  } else {
    status = 'OK';
    text = `${r.database}: ${settings.size} setting(s) in force for ${r.loginRoles} login role(s)`;
  }
  const perf = `settings_in_force=${settings.size - drifted.size};;;0;${settings.size} roles_not_in_policy=${defeatingRoles.size};;;0;${r.loginRoles} sessions_on_old_settings=${r.sessionsOnOldSettings};;;0`;
  return { status, exitCode: NagiosCode[status], line: `PGHARDEN ${status} - verify ${text.replace(/\s*\n\s*/g, '; ')} | ${perf}` };
}

/** One short clause per drifted setting: what new sessions get instead, and the roles whose own value defeats it. */
function driftText(r: VerifyResult, setting: string): string {
  const checks = r.checks.filter((c) => (c.setting ?? c.name) === setting && !c.ok);
  const overrides = r.roleValues
    .filter((v) => v.setting === setting && !v.ok && v.from.startsWith('role'))
    .map((v) => `${v.role} (${v.value})`);
  const live = checks.find((c) => c.name.endsWith(' live'));
  const parts: string[] = [];
  if (live) parts.push(`${setting} is ${live.actual ?? '?'}, not ${live.expected}`);
  if (overrides.length) parts.push(`${setting} = ${checks[0]?.expected} defeated by role override ${overrides.join(', ')}`);
  if (!parts.length) parts.push(checks[0]?.message ?? setting);
  return parts.join('; ');
}
