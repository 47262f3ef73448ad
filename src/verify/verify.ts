import { PolicyError } from '../errors.js';
import { withClient, type Client } from '../pg/client.js';
import { readDatabaseState, type DatabaseState } from '../pg/catalog.js';
import { quoteIdent } from '../pg/quote.js';
import type { Policy } from '../policy/schema.js';
import { effectiveFor, roleOverrideFix } from '../plan/effective.js';
import { describeValue } from '../plan/findings.js';
import { comparatorFor, declaredRoles, declaredValue, roleValueProblems, type Comparator, type DeclaredRole } from '../plan/role-values.js';
import { exceptionChecks } from './exceptions.js';
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
  /** Passing, but someone should act soon (an exception about to expire). */
  warning?: boolean;
}

export interface VerifyResult {
  ok: boolean;
  database: string;
  /** The role of the fresh session the live values were read on. */
  liveRole: string;
  loginRoles: number;
  /** The policy's declared role values; `looser` non-empty = a declared exception. */
  exceptions: DeclaredRole[];
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
  return withClient(
    ctx.target,
    async (fresh) => {
      const { rows } = await fresh.query(
        `SELECT current_user AS role, lower(name) AS name, setting, source FROM pg_settings WHERE lower(name) = ANY($1::text[])`,
        [names],
      );
      const byName = new Map(rows.map((r) => [r.name as string, r as { setting: string; source: string }]));
      // Custom dotted parameters (myapp.flag) are placeholders pg_settings does not list; current_setting reads them.
      const custom = names.filter((n) => n.includes('.') && !byName.has(n));
      if (custom.length) {
        const c = await fresh.query(`SELECT n AS name, current_setting(n, true) AS setting FROM unnest($1::text[]) AS n`, [custom]);
        for (const r of c.rows) if (r.setting !== null) byName.set(r.name, { setting: r.setting, source: 'custom parameter' });
      }
      const role = rows[0]?.role ?? (await fresh.query('SELECT current_user AS role')).rows[0].role;
      return { role: role as string, byName };
    },
    { raw: true, appName: 'pgharden verify' },
  );
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
      checks.push({
        name: `${name} reset`,
        setting: name,
        ok: !left,
        message: left ? `${name} still has a database-level value (${left.value})` : `${name} has no database-level value`,
      });
      continue;
    }
    const cmp = comparatorFor(meta, name, raw);
    if ('error' in cmp) {
      checks.push({
        name: `${name} known`,
        setting: name,
        ok: false,
        message: `${name} is not a parameter this server can check (${cmp.error})`,
      });
      continue;
    }
    const target = cmp.target;
    // The connecting role may itself run under a declared value: then that is what its fresh session must show.
    const liveCmp = declaredComparator(ctx.policy, state, live.role, name) ?? { target, matches: cmp.matches };
    const liveRow = live.byName.get(name);
    const liveOk = liveRow !== undefined && liveCmp.matches(liveRow.setting);
    checks.push({
      name: `${name} live`,
      setting: name,
      role: live.role,
      expected: liveCmp.target,
      ok: liveOk,
      actual: liveRow ? describeValue(state, name, liveRow.setting) : undefined,
      message: liveOk
        ? `a fresh session of ${live.role} gets ${name} = ${liveCmp.target}`
        : `a fresh session of ${live.role} gets ${name} = ${liveRow ? describeValue(state, name, liveRow.setting) : '?'} (source: ${liveRow?.source ?? '?'}), not ${liveCmp.target}`,
    });
    checks.push(...roleChecks(state, ctx.policy, name, target, cmp.matches, roleValues));
  }

  const exceptions = declaredRoles(state, ctx.policy);
  const problems = roleValueProblems(exceptions, ctx.policy);
  if (problems.length)
    throw new PolicyError(`policy ${ctx.policy.source} has role values it cannot hold:\n  ${problems.join('\n  ')}`, problems);
  checks.push(...exceptionChecks(state, ctx.policy, exceptions));

  if (ctx.policy.connection_limit !== undefined) {
    const ok = state.database.connLimit === ctx.policy.connection_limit;
    checks.push({
      name: 'connection_limit',
      setting: 'connection_limit',
      ok,
      expected: String(ctx.policy.connection_limit),
      actual: String(state.database.connLimit),
      message: ok
        ? `database ${state.database.name} admits at most ${state.database.connLimit} connections (superusers count towards it but are never refused)`
        : `database ${state.database.name} has connection limit ${state.database.connLimit}, not ${ctx.policy.connection_limit}`,
    });
  }

  const probes = opts.probes ? await runProbes(ctx, opts.probes) : undefined;
  const ok = checks.every((c) => c.ok) && !probes?.some((p) => p.status === 'failed');
  const appliedAt = await latestApplyTime(client, state.database.name);
  const sessionsOnOldSettings =
    appliedAt === null ? 0 : state.sessions.filter((x) => new Date(x.backendStart).getTime() < new Date(appliedAt).getTime()).length;
  return {
    ok,
    database: state.database.name,
    liveRole: live.role,
    loginRoles: state.loginRoles.length,
    exceptions,
    checks,
    roleValues,
    sessionsOnOldSettings,
    probes,
  };
}

/** The comparator for a role's declared non-null value of `name`, if the policy declares one. */
function declaredComparator(policy: Policy, state: DatabaseState, role: string, name: string): Comparator | null {
  const value = declaredValue(policy, role, name);
  if (value === undefined || value === null) return null;
  const cmp = comparatorFor(state.settings.get(name), name, value);
  return 'error' in cmp ? null : cmp;
}

/**
 * One failing check per role whose own value overrides the target; one passing check for the rest.
 * Roles with a declared value for `name` are checked against it by exceptionChecks, not here.
 */
function roleChecks(
  state: DatabaseState,
  policy: Policy,
  name: string,
  target: string,
  matches: (v: string) => boolean,
  values: RoleValue[],
): Check[] {
  const checks: Check[] = [];
  let good = 0;
  let declared = 0;
  for (const role of state.loginRoles) {
    const own = declaredValue(policy, role.name, name);
    if (own !== undefined && own !== null) {
      declared++;
      continue;
    }
    const eff = effectiveFor(state, role.name, name);
    const shown = describeValue(state, name, eff.value);
    values.push({ setting: name, role: role.name, value: shown, from: eff.from, ok: matches(eff.value) });
    if (matches(eff.value)) {
      good++;
      continue;
    }
    const scope = eff.from === 'role in database' ? 'in-database' : eff.from === 'role' ? 'all-databases' : null;
    checks.push({
      name: `${name} for ${role.name}`,
      setting: name,
      role: role.name,
      expected: target,
      actual: shown,
      ok: false,
      message: scope
        ? `role ${role.name} overrides ${name} with ${shown} (ALTER ROLE ${role.name}${scope === 'in-database' ? ` IN DATABASE ${state.database.name}` : ''} SET): its new sessions do not get ${target}`
        : `new sessions of ${role.name} get ${name} = ${shown} from the ${eff.from} level, not ${target}`,
      fix: scope ? roleOverrideFix(role.name, scope, name, state.database.name, quoteIdent) : undefined,
    });
  }
  checks.push({
    // A tick only when every role gets the target (or runs under a declared role value): "✔ 0 of 7" was a green tick on a failed check.
    name: `${name} for login roles`,
    setting: name,
    expected: target,
    ok: good + declared === state.loginRoles.length,
    message:
      `${good} of ${state.loginRoles.length} login role(s) that may connect get ${name} = ${target}` +
      (declared ? `; ${declared} run(s) under a declared role value (see below)` : ''),
  });
  return checks;
}
