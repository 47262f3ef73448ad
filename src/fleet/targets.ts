import { PolicyError, UsageError } from '../errors.js';
import { connect } from '../pg/client.js';
import { parseConnString } from '../pg/conninfo.js';
import { fromUrl, withDatabase, type Target } from '../pg/target.js';
import type { Policy } from '../policy/schema.js';
import type { Inventory } from './inventory.js';

/** One database of a fleet as the control database keeps it: how to reach it, never a password. */
export interface TargetSpec {
  /** `postgres://user@host:port/db` as resolved when planned: the target's name in status and reports. */
  key: string;
  /** The connection string as written (a service name is resolved again by each worker, on its machine). */
  conninfo: string;
  /** The database, when discovery picked it on `conninfo`'s server. */
  database: string | null;
  /** `env:NAME`: the policy environment whose rules (approval, window, promotion) apply to this target. */
  env: string | null;
}

/** The Target a worker connects to. */
export function targetOf(spec: Pick<TargetSpec, 'conninfo' | 'database'>): Target {
  const t = fromUrl(spec.conninfo, 'inventory');
  return spec.database ? withDatabase(t, spec.database) : t;
}

/**
 * The inventory's databases in rollout order: the listed targets first (as written), then the
 * discovered ones by name. A database named twice is kept once, at its first place.
 */
export async function resolveTargets(inv: Inventory, policy: Policy): Promise<TargetSpec[]> {
  if (policy.database) {
    throw new PolicyError(
      `policy ${policy.source} names one database (database: ${policy.database}); a fleet's policy must not, or every target would change that one database`,
    );
  }
  const specs: TargetSpec[] = [];
  for (const [i, entry] of inv.targets.entries()) {
    if (entry.startsWith('env:')) {
      const name = entry.slice(4);
      const env = Object.hasOwn(policy.environments, name) ? policy.environments[name] : null;
      if (!env) {
        const names = Object.keys(policy.environments);
        throw new PolicyError(
          `inventory ${inv.source}: targets.${i}: ${entry}: policy ${policy.source} has ${names.length ? `environments ${names.join(', ')}` : 'no environments:'}`,
        );
      }
      if (parseConnString(env.db, `environment ${name}`).password !== undefined) {
        throw new PolicyError(
          `environment ${name} of policy ${policy.source}: its db: holds a password, which a fleet would copy into its control database; use ~/.pgpass, PGPASSWORD or a service file`,
        );
      }
      specs.push({ key: fromUrl(env.db, 'inventory').display, conninfo: env.db, database: null, env: name });
    } else {
      specs.push({ key: fromUrl(entry, 'inventory').display, conninfo: entry, database: null, env: null });
    }
  }
  if (inv.discover) specs.push(...(await discover(inv.discover)));
  const seen = new Set<string>();
  return specs.filter((s) => (seen.has(s.key) ? false : (seen.add(s.key), true)));
}

/** Databases on a server whose names match a LIKE pattern (and none of the exclusions), by name. */
async function discover(d: NonNullable<Inventory['discover']>): Promise<TargetSpec[]> {
  const server = fromUrl(d.server, 'inventory');
  const client = await connect(server, { appName: 'pgharden fleet discover', statementTimeoutMs: 30_000 });
  try {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database
        WHERE datallowconn AND NOT datistemplate AND datname LIKE $1 AND NOT datname LIKE ANY($2::text[])
        ORDER BY datname COLLATE "C"`,
      [d.databases, d.exclude],
    );
    if (!rows.length)
      throw new UsageError(
        `discover: no database on ${server.display} matches ${JSON.stringify(d.databases)}${d.exclude.length ? ` (excluding ${d.exclude.join(', ')})` : ''}`,
      );
    return rows.map((r) => ({ key: withDatabase(server, r.datname).display, conninfo: d.server, database: r.datname, env: null }));
  } finally {
    await client.end().catch(() => undefined);
  }
}
