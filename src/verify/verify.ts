import { withClient, type Client } from '../pg/client.js';
import { readDatabaseState, type DatabaseState } from '../pg/catalog.js';
import { quoteIdent } from '../pg/quote.js';
import { formatValue, parseValue } from '../pg/units.js';
import { effectiveFor, roleOverrideFix } from '../plan/effective.js';
import { describeValue } from '../plan/findings.js';
import type { StageContext } from '../stage.js';
import { latestApplyTime } from '../monitor/rollout.js';
import { runProbes, type ProbeOptions, type ProbeResult } from './probes/run.js';

export interface Check {
  name: string;
  ok: boolean;
  message: string;
  setting?: string;
  role?: string;
  expected?: string;
  actual?: string;
  fix?: string;
}

export interface VerifyResult {
  ok: boolean;
  database: string;
  /** The role of the fresh session the live values were read on. */
  liveRole: string;
  loginRoles: number;
  checks: Check[];
  /** Every login role's effective value per setting (verify --verbose prints them as a table). */
  roleValues: RoleValue[];
  /** Other sessions that began before the latest apply: they still run on the old settings (advisory). */
  sessionsOnOldSettings: number;
  /** Functional probes (verify --probes): present only when asked for. A skipped probe does not fail verify, but is never `ok`. */
  probes?: ProbeResult[];
}

export interface RoleValue {
  setting: string;
  role: string;
  value: string;
  /** The pg_db_role_setting level the value comes from (role in database, role, database, …). */
  from: string;
  ok: boolean;
}

export interface VerifyOptions {
  /** Run the functional probes too (they take about the longest timeout in the policy). */
  probes?: ProbeOptions;
}

/** What a brand-new session of the connecting role sees: no session settings of ours, just the database's and role's. */
async function readLiveValues(ctx: StageContext, names: string[]) {
  return withClient(ctx.target, async (fresh) => {
    const { rows } = await fresh.query(
      `SELECT current_user AS role, lower(name) AS name, setting, source FROM pg_settings WHERE lower(name) = ANY($1::text[])`,
      [names],
    );
    const byName = new Map(rows.map((r) => [r.name as string, r as { setting: string; source: string }]));
    const role = rows[0]?.role ?? (await fresh.query('SELECT current_user AS role')).rows[0].role;
    return { role: role as string, byName };
  }, { raw: true, appName: 'pgharden verify' });
}

/**
 * Prove the policy is in force for new sessions: live on a fresh connection, and for every
 * login role that may connect, from pg_db_role_setting precedence (no passwords needed).
 */
export async function verify(ctx: StageContext, client: Client, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const state = await readDatabaseState(client, ctx.target.database);
  const names = Object.keys(ctx.policy.settings);
  const live = await readLiveValues(ctx, names);
  const checks: Check[] = [];
  const roleValues: RoleValue[] = [];

  for (const [name, raw] of Object.entries(ctx.policy.settings)) {
    const meta = state.settings.get(name);
    if (raw === null) {
      const left = state.dbSettings.find((s) => s.name === name);
      checks.push({ name: `${name} reset`, setting: name, ok: !left, message: left ? `${name} still has a database-level value (${left.value})` : `${name} has no database-level value` });
      continue;
    }
    const wanted = meta ? parseValue(meta, raw) : null;
    if (!meta || !wanted?.ok) {
      checks.push({ name: `${name} known`, setting: name, ok: false, message: `${name} is not a parameter this server can check (${meta ? wanted && !wanted.ok && wanted.error : 'unknown'})` });
      continue;
    }
    const target = formatValue(meta, wanted.canonical);
    const matches = (value: string) => {
      const p = parseValue(meta, value);
      return p.ok && p.canonical === wanted.canonical;
    };

    const liveRow = live.byName.get(name);
    const liveOk = liveRow !== undefined && matches(liveRow.setting);
    checks.push({
      name: `${name} live`, setting: name, role: live.role, expected: target, ok: liveOk,
      actual: liveRow ? describeValue(state, name, liveRow.setting) : undefined,
      message: liveOk
        ? `a fresh session of ${live.role} gets ${name} = ${target}`
        : `a fresh session of ${live.role} gets ${name} = ${liveRow ? describeValue(state, name, liveRow.setting) : '?'} (source: ${liveRow?.source ?? '?'}), not ${target}`,
    });
    checks.push(...roleChecks(state, name, target, matches, roleValues));
  }

  if (ctx.policy.connection_limit !== undefined) {
    const ok = state.database.connLimit === ctx.policy.connection_limit;
    checks.push({
      name: 'connection_limit', setting: 'connection_limit', ok,
      expected: String(ctx.policy.connection_limit), actual: String(state.database.connLimit),
      message: ok
        ? `database ${state.database.name} admits at most ${state.database.connLimit} connections (superusers count towards it but are never refused)`
        : `database ${state.database.name} has connection limit ${state.database.connLimit}, not ${ctx.policy.connection_limit}`,
    });
  }

  const probes = opts.probes ? await runProbes(ctx, opts.probes) : undefined;
  const ok = checks.every((c) => c.ok) && !probes?.some((p) => p.status === 'failed');
  const appliedAt = await latestApplyTime(client, state.database.name);
  const sessionsOnOldSettings = appliedAt === null ? 0
    : state.sessions.filter((x) => new Date(x.backendStart).getTime() < new Date(appliedAt).getTime()).length;
  return { ok, database: state.database.name, liveRole: live.role, loginRoles: state.loginRoles.length, checks, roleValues, sessionsOnOldSettings, probes };
}

/** One failing check per role whose own value overrides the target; one passing check for the rest. */
function roleChecks(state: DatabaseState, name: string, target: string, matches: (v: string) => boolean, values: RoleValue[]): Check[] {
  const checks: Check[] = [];
  let good = 0;
  for (const role of state.loginRoles) {
    const eff = effectiveFor(state, role.name, name);
    const shown = describeValue(state, name, eff.value);
    values.push({ setting: name, role: role.name, value: shown, from: eff.from, ok: matches(eff.value) });
    if (matches(eff.value)) { good++; continue; }
    const scope = eff.from === 'role in database' ? 'in-database' : eff.from === 'role' ? 'all-databases' : null;
    checks.push({
      name: `${name} for ${role.name}`, setting: name, role: role.name, expected: target, actual: shown, ok: false,
      message: scope
        ? `role ${role.name} overrides ${name} with ${shown} (ALTER ROLE ${role.name}${scope === 'in-database' ? ` IN DATABASE ${state.database.name}` : ''} SET): its new sessions do not get ${target}`
        : `new sessions of ${role.name} get ${name} = ${shown} from the ${eff.from} level, not ${target}`,
      fix: scope ? roleOverrideFix(role.name, scope, name, state.database.name, quoteIdent) : undefined,
    });
  }
  checks.push({
    // A tick only when every role gets the target: "✔ 0 of 7" was a green tick on a failed check.
    name: `${name} for login roles`, setting: name, expected: target, ok: good === state.loginRoles.length,
    message: `${good} of ${state.loginRoles.length} login role(s) that may connect get ${name} = ${target}`,
  });
  return checks;
}
