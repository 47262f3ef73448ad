import fs from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { PolicyError } from '../errors.js';
import { parseConnString } from '../pg/conninfo.js';
import { redact } from '../pg/redact.js';
import { parseDuration, parsePercent } from '../policy/duration.js';

/**
 * A fleet inventory (`fleet.yaml`): which databases, in which waves, how many at once, and when
 * to stop. The zod schema is the one source of truth; `pgharden fleet schema` prints it as JSON
 * Schema (committed as policies/fleet.schema.json).
 */

/** libpq's secret keywords: an inventory names servers, never credentials (use ~/.pgpass, PGPASSWORD or a service file). */
const SECRET_KEYS = ['password', 'sslpassword'];

/** A connection string with no secret in it; a malformed one is named, never echoed (it may hold a password). */
const conninfo = z
  .string()
  .min(1, 'must not be empty')
  .superRefine((s, ctx) => {
    let params: Record<string, string | undefined>;
    try {
      params = parseConnString(s, 'connection string');
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: redact((err as Error).message) });
      return;
    }
    const secret = SECRET_KEYS.find((k) => params[k] !== undefined);
    if (secret) {
      ctx.addIssue({
        code: 'custom',
        message:
          `holds a ${secret}: an inventory must not carry secrets (it is shared, committed and copied into the control database); ` +
          'put the password in ~/.pgpass, PGPASSWORD or a service file (pg_service.conf) instead',
      });
    }
  });

/** `env:NAME` names an environment of the policy (its db:); anything else is a URL or conninfo string. */
const target = z
  .string()
  .min(1, 'must not be empty')
  .superRefine((s, ctx) => {
    if (s.startsWith('env:')) {
      if (!/^env:[A-Za-z0-9_.-]+$/.test(s))
        ctx.addIssue({ code: 'custom', message: 'env: must be followed by an environment name of the policy (letters, digits, _ . -)' });
      return;
    }
    const r = conninfo.safeParse(s);
    if (!r.success) for (const issue of r.error.issues) ctx.addIssue({ code: 'custom', message: issue.message });
  });

const duration = z
  .string({ error: 'expected a duration such as 0s, 30s or 5m' })
  .refine((s) => parseDuration(s) !== null, { error: 'not a duration: write a number and a unit (ms, s, m, h), e.g. 30s' })
  .transform((s) => parseDuration(s)!);

/** A count (1) or a share ("10%"): waves and max_failures. */
const countOrShare = z.union(
  [
    z.number().int('must be a whole number').min(1, 'must be at least 1'),
    z.string().refine(
      (s) => {
        const p = parsePercent(s);
        return p !== null && p > 0 && p <= 1;
      },
      { error: 'expected a count (e.g. 1) or a share between 0% and 100% (e.g. 10%)' },
    ),
  ],
  { error: 'expected a count (e.g. 1) or a share (e.g. 10%)' },
);

export const inventorySchema = z
  .object({
    /** Names the rollout in the control database; workers with the same name share it. Default: the file name. */
    name: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,63}$/, 'is not a fleet name (1-63 letters, digits, _ . -)')
      .optional(),
    /** A built-in policy name or a YAML file, relative to the inventory file. */
    policy: z.string().min(1).default('ticket-010'),
    /** URLs, keyword/value strings (`service=shop_eu`) and `env:NAME` (the policy's environments:). */
    targets: z.array(target).default([]),
    /** Every database on a server whose name matches a LIKE pattern (templates and databases that refuse connections are skipped). */
    discover: z
      .object({
        server: conninfo,
        databases: z.string().min(1, 'must not be empty (a LIKE pattern such as shop_%)'),
        /** LIKE patterns of databases to leave out. */
        exclude: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .optional(),
    /** Cumulative wave sizes: a canary first. The last wave always reaches every target. */
    waves: z.array(countOrShare).min(1, 'needs at least one wave').default([1, '10%', '50%', '100%']),
    /** Targets one worker runs at once. */
    concurrency: z.number().int('must be a whole number').min(1, 'must be at least 1').max(500, 'is more than 500').default(10),
    /** The fleet stops as soon as one wave has this many failed targets (a count, or a share of the wave). */
    max_failures: countOrShare.default(1),
    /** Functional probes and the synthetic alert after each apply (a few seconds per target). */
    probes: z.boolean().default(true),
    /** The guard window of each target; the policy's when absent. */
    guard_window: duration.optional(),
    /** Between two waves: a duration to wait, or `manual` (the fleet pauses until `fleet resume`). */
    wave_pause: z.union([z.literal('manual'), duration]).optional(),
    /** How long a worker waits for another pgharden changing the same database. */
    lock_wait: duration.default(60_000),
  })
  .strict()
  .refine((inv) => inv.targets.length > 0 || inv.discover !== undefined, { error: 'names no database: give targets:, discover:, or both' });

export type Inventory = z.output<typeof inventorySchema> & {
  name: string;
  /** The file it came from, and the policy path resolved against it. */
  source: string;
  policyPath: string;
};

/** Read and validate an inventory file; every problem is named with its key (exit 2). */
export async function loadInventory(file: string): Promise<Inventory> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new PolicyError(`cannot read inventory ${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  return parseInventory(text, file);
}

export function parseInventory(text: string, source: string): Inventory {
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    const problems = doc.errors.map((e) => `${source}: ${e.message.split('\n')[0]}`);
    throw new PolicyError(`inventory ${source} is not valid YAML:\n  ${problems.join('\n  ')}`, problems);
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (err) {
    throw new PolicyError(`inventory ${source} is not valid YAML: ${(err as Error).message}`);
  }
  const result = inventorySchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => describeIssue(issue, raw));
    throw new PolicyError(`inventory ${source} is invalid:\n  ${problems.join('\n  ')}`, problems);
  }
  const inv = result.data;
  const name =
    inv.name ??
    path
      .basename(source)
      .replace(/\.ya?ml$/i, '')
      .replace(/[^A-Za-z0-9_.-]/g, '_')
      .slice(0, 63);
  const builtin = /^[a-z0-9-]+$/.test(inv.policy) && !inv.policy.endsWith('.yaml');
  const policyPath = builtin || path.isAbsolute(inv.policy) ? inv.policy : path.join(path.dirname(source), inv.policy);
  return { ...inv, name, source, policyPath };
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  const at = issue.path.map(String).join('.') || '(top level)';
  if (issue.code === 'unrecognized_keys') {
    const allowed =
      issue.path.length === 0 ? Object.keys(inventorySchema.shape) : issue.path[0] === 'discover' ? ['server', 'databases', 'exclude'] : [];
    return `${at}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}${allowed.length ? `; allowed keys: ${allowed.join(', ')}` : ''}`;
  }
  const value = issue.path.reduce<unknown>(
    (v, k) => (v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined),
    raw,
  );
  // A connection string is never echoed: it may hold the password the message is about.
  const secretish = issue.path[0] === 'targets' || issue.path[0] === 'discover';
  const shown = value === undefined ? 'missing' : secretish && typeof value === 'string' ? 'this value' : JSON.stringify(value);
  return `${at}: ${shown} — ${issue.message}`;
}
