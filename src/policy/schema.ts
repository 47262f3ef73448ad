import { z } from 'zod';
import { parseDuration, parsePercent } from './duration.js';
import { parseWindow } from '../estate/window.js';
import { redact } from '../pg/redact.js';
import { fromUrl } from '../pg/target.js';

const duration = z
  .string({ error: 'expected a duration such as 25s, 500ms or 5m' })
  .refine((s) => parseDuration(s) !== null, { error: 'not a duration: write a number and a unit (ms, s, m, h), e.g. 25s' })
  .transform((s) => parseDuration(s)!);

const percent = z
  .string({ error: 'expected a percentage such as 5%' })
  .refine((s) => parsePercent(s) !== null, { error: 'not a percentage: write e.g. 5%' })
  .transform((s) => parsePercent(s)!);

const severity = z.enum(['critical', 'warning', 'info']);

/** A parameter value: checked later against pg_settings (type, unit, range). null = RESET at database level. */
const settingValue = z
  .union([z.string(), z.number(), z.boolean(), z.null()], {
    error:
      'expected a string, number, boolean or null (null removes the database-level value); a list such as search_path is one string: "app, public"',
  })
  .refine((v) => typeof v !== 'string' || !v.includes('\0'), { error: 'contains a NUL character, which PostgreSQL cannot store' });

/** NAMEDATALEN − 1: PostgreSQL names are at most 63 bytes (a longer name is silently cut, so it would name another database). */
const MAX_NAME_BYTES = 63;

const parameterName = z
  .string()
  .max(200, 'is too long for a parameter name')
  .regex(/^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/, 'is not a parameter name');

const check = z
  .object({
    name: z.string().min(1),
    sql: z.string().min(1).optional(),
    command: z.string().min(1).optional(),
  })
  .strict()
  .refine((c) => Boolean(c.sql) !== Boolean(c.command), { error: 'a check needs exactly one of sql: or command:' });

/**
 * One alert rule: the runbook's single threshold `{ over, severity }`, or check_postgres-style
 * `{ warning, critical }` (either or both). Either way the output keeps `over`/`severity` (the
 * most severe level) for code that reads one threshold, and lists every level in `levels`.
 * `for`: how long the condition must hold in the exported Prometheus rules; `exclude`: regexes
 * on user, application name and backend type whose sessions never fire the rule.
 */
const regex = z.string().refine(
  (s) => {
    try {
      new RegExp(s);
      return true;
    } catch {
      return false;
    }
  },
  { error: 'not a regular expression' },
);
const exclude = z.object({ user: regex.optional(), application: regex.optional(), backend_type: regex.optional() }).strict();
const alertRule = <T extends z.ZodType<number, string>>(value: T, dflt: { over: string; severity: 'critical' | 'warning' | 'info' }) =>
  z
    .object({
      over: value.optional(),
      severity: severity.optional(),
      warning: value.optional(),
      critical: value.optional(),
      for: duration.optional(),
      exclude: exclude.optional(),
    })
    .strict()
    .refine((r) => r.over === undefined || (r.warning === undefined && r.critical === undefined), {
      error: 'write either over: (with severity:) or warning:/critical:, not both',
    })
    .transform((r) => {
      const levels: { severity: 'critical' | 'warning' | 'info'; over: number }[] = [];
      if (r.warning !== undefined) levels.push({ severity: 'warning', over: r.warning });
      if (r.critical !== undefined) levels.push({ severity: 'critical', over: r.critical });
      if (!levels.length) levels.push({ severity: r.severity ?? dflt.severity, over: r.over ?? (value.parse(dflt.over) as number) });
      const top = levels[levels.length - 1];
      // The runbook's shape reads back as { over, severity } alone: new keys only when the policy uses them.
      return {
        over: top.over,
        severity: top.severity,
        ...(r.warning !== undefined || r.critical !== undefined ? { levels } : {}),
        ...(r.for !== undefined ? { for: r.for } : {}),
        ...(r.exclude ? { exclude: r.exclude } : {}),
      };
    });

/** Parameter names are case-insensitive in PostgreSQL: keep them in lower case from here on. */
const settingsMap = z
  .record(parameterName, settingValue)
  .default({})
  .refine((o) => new Set(Object.keys(o).map((k) => k.toLowerCase())).size === Object.keys(o).length, {
    error: 'names a parameter twice (parameter names are case-insensitive)',
  })
  .transform((o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k.toLowerCase(), v])));

/** A calendar day. YAML 1.1 tools may hand us a Date for `2027-03-31`; keep the day as written. */
const isoDay = z
  .union([z.string(), z.date()], { error: 'expected a date such as 2027-03-31' })
  .transform((v) => (v instanceof Date ? v.toISOString().slice(0, 10) : v))
  .refine(
    (v) =>
      /^\d{4}-\d{2}-\d{2}$/.test(v) &&
      !Number.isNaN(Date.parse(`${v}T00:00:00Z`)) &&
      new Date(`${v}T00:00:00Z`).toISOString().startsWith(v),
    {
      error: 'expected a date such as 2027-03-31 (YYYY-MM-DD)',
    },
  );

/**
 * A role's declared values in this database (ALTER ROLE r IN DATABASE d SET). Whether a value
 * is looser than the database target needs the server's units, so the "reason required" rule is
 * checked by the plan (src/plan/role-exceptions.ts), still as a policy error.
 */
const roleEntry = z
  .object({
    settings: settingsMap,
    reason: z.string().trim().min(1, 'must not be empty').optional(),
    expires: isoDay.optional(),
  })
  .strict();

const roleName = z
  .string()
  .min(1, 'must not be empty')
  .refine((v) => Buffer.byteLength(v) <= 63, { error: 'is longer than 63 bytes, the longest name PostgreSQL keeps' })
  .refine((v) => !v.includes('\0'), { error: 'contains a NUL character' });

/**
 * PgBouncer admin console URLs (database `pgbouncer`, an admin_users login): after apply and
 * rollback each gets `RECONNECT <db>`, and rollout tracking counts their server connections.
 * They name places, not what is asked of a database: masked where the policy is stored, and left
 * out of the policy hash (estate/plan-hash.ts).
 */
const poolers = z
  .array(
    z
      .string()
      .min(1, 'must not be empty')
      .superRefine((v, c) => {
        try {
          const database = fromUrl(v, '--db', {}).database;
          if (database !== 'pgbouncer')
            c.addIssue({
              code: 'custom',
              message: `names database ${JSON.stringify(database)}: a PgBouncer admin console URL names the database pgbouncer (e.g. postgres://admin@pgbouncer-host:6432/pgbouncer)`,
            });
        } catch (err) {
          c.addIssue({ code: 'custom', message: `is not a connection string: ${(err as Error).message}` });
        }
      }),
  )
  .transform(
    (list) => Object.defineProperty([...list], 'toJSON', { value: () => list.map((u) => redact(u)), enumerable: false }) as string[],
  );

/**
 * The runbook's "low traffic period", checked by `run` before anything changes: peak active
 * connections (a count, or a share of the connection limit) and transactions per second, both
 * sampled over `sample`. Over either: the run is blocked (exit 4) unless --over-load "reason".
 */
const maxLoad = z
  .object({
    active_connections: z
      .union(
        [
          z.number().int('must be a whole number').min(0, 'must be 0 or more'),
          z.string().refine((s) => parsePercent(s) !== null, {
            error: 'write a number of connections (40) or a share of the connection limit (50%)',
          }),
        ],
        { error: 'expected a number of connections (40) or a share of the connection limit (50%)' },
      )
      .transform((v) => (typeof v === 'number' ? { count: v } : { share: parsePercent(v)! }))
      .optional(),
    tps: z.number({ error: 'expected transactions per second, a number' }).positive('must be more than 0').optional(),
    sample: duration.default(2000),
  })
  .strict()
  .refine((m) => m.active_connections !== undefined || m.tps !== undefined, { error: 'name active_connections:, tps: or both' });

/** A named target and its rules (`--env NAME`). Each of its keys is enforced. */
const environment = z
  .object({
    db: z.string().min(1, 'must not be empty'),
    approval: z.enum(['required', 'optional']).default('optional'),
    /** Environments where a `run` of the same policy (content hash) must have passed first. */
    requires: z.array(z.string().min(1)).default([]),
    /** Maintenance window(s), e.g. "Sat 01:00-05:00 Europe/Berlin": apply/run refuse outside unless --outside-window. */
    window: z
      .string()
      .superRefine((v, c) => {
        const parsed = parseWindow(v);
        if (!parsed.ok) c.addIssue({ code: 'custom', message: parsed.error });
      })
      .optional(),
    /** PgBouncers in front of this environment's database (instead of the policy's poolers:). */
    poolers: poolers.optional(),
    /** The low-traffic gate of this environment (instead of the policy's max_load:). */
    max_load: maxLoad.optional(),
  })
  .strict()
  // The policy is stored in pgharden.runs, run.json and reports: a password in an environment's
  // db must not travel with it. Connecting reads `db` itself; only its JSON form is masked.
  .transform((e) =>
    Object.defineProperty({ ...e }, 'toJSON', {
      value: () => ({ ...e, db: redact(e.db), ...(e.poolers ? { poolers: e.poolers.map((u) => redact(u)) } : {}) }),
      enumerable: false,
    }),
  );

export const policySchema = z
  .object({
    database: z
      .string()
      .min(1, 'must not be empty')
      .refine((v) => Buffer.byteLength(v) <= MAX_NAME_BYTES, {
        error: `is longer than ${MAX_NAME_BYTES} bytes, the longest name PostgreSQL keeps`,
      })
      .refine((v) => !v.includes('\0'), { error: 'contains a NUL character' })
      .optional(),
    settings: settingsMap,
    /** Declared role-level values and exceptions: `{ <role>: { settings, reason?, expires? } }`. */
    roles: z.record(roleName, roleEntry).default({}),
    environments: z
      .record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'is not an environment name (letters, digits, _ . -)'), environment)
      .default({})
      .superRefine((envs, z2) => {
        for (const [name, env] of Object.entries(envs)) {
          for (const req of env.requires) {
            if (!Object.hasOwn(envs, req))
              z2.addIssue({
                code: 'custom',
                path: [name, 'requires'],
                message: `names ${JSON.stringify(req)}, which is not an environment of this policy`,
              });
            else if (req === name)
              z2.addIssue({ code: 'custom', path: [name, 'requires'], message: 'an environment cannot require itself' });
          }
        }
      }),
    connection_limit: z.number().int('must be a whole number').min(-1, 'must be -1 (no limit) or more').optional(),
    alerts: z
      .object({
        long_query: alertRule(duration, { over: '25s', severity: 'critical' }).prefault({}),
        idle_in_transaction: alertRule(duration, { over: '50s', severity: 'warning' }).prefault({}),
        connections: alertRule(percent, { over: '80%', severity: 'info' }).prefault({}),
        // Not in the runbook: a transaction alternating short statements and short idle gaps escapes both rules above
        // while holding locks and xmin. Off unless the policy names it.
        transaction_age: alertRule(duration, { over: '5m', severity: 'warning' }).optional(),
      })
      .strict()
      .prefault({}),
    rollback_triggers: z
      .object({
        timeout_errors_increase: percent.default(0.05),
        latency_degradation: percent.default(0.2),
        pool_exhaustion: z.boolean().default(true),
        checks: z.array(check).default([]),
      })
      .strict()
      .prefault({}),
    guard_window: duration.default(5 * 60_000),
    /** PgBouncer admin console URLs: RECONNECT after apply and rollback; server connections counted in rollout tracking. */
    poolers: poolers.optional(),
    /** `run` refuses to start above this load (the runbook's low traffic period). */
    max_load: maxLoad.optional(),
    /** Triggers that must be measured in the guard window: "not measured" then fails the guard (the run rolls back). */
    require_measured: z.array(z.enum(['timeout_errors_increase', 'latency_degradation', 'pool_exhaustion'])).default([]),
    /** Response-time SLA the report checks the load sample's p95 against. */
    sla_p95: duration.optional(),
    /** Who to call (runbook "Contact Information"): listed in reports and carried by alert payloads. */
    contacts: z
      .object({
        dba_team: z.string().optional(),
        application_team: z.string().optional(),
        on_call: z.string().optional(),
        escalation: z.string().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** A validated policy; durations in ms, percentages as fractions. */
export type Policy = z.output<typeof policySchema> & { source: string };
