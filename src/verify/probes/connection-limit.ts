import { randomBytes } from 'node:crypto';
import { connect, type Client } from '../../pg/client.js';
import { quoteIdent, quoteLiteral } from '../../pg/quote.js';
import { withDatabase, type Target } from '../../pg/target.js';
import { sqlstateOf } from './session.js';
import { probeResult, skipped, type ProbeResult } from './types.js';

const TOO_MANY = '53300';

/** Sessions PostgreSQL counts against datconnlimit: every regular backend on the database, superusers' included. */
const HELD_SQL = `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND backend_type IN ('client backend', 'autovacuum worker', 'walsender')`;

/** The same server as `target`, logged in as another role. */
function asRole(target: Target, role: string, password: string): Target {
  return {
    ...target,
    config: { ...target.config, user: role, password },
    display: target.display.replace(/^postgres:\/\/[^@]*@/, `postgres://${encodeURIComponent(role)}@`),
  };
}

/**
 * Role management happens from the `postgres` database when we may connect there, so our own
 * session does not take one of the target database's slots; otherwise from the target (and counted).
 */
async function adminSession(target: Target): Promise<Client> {
  if (target.database !== 'postgres') {
    try {
      return await connect(withDatabase(target, 'postgres'), { appName: 'pgharden probe admin' });
    } catch {
      /* no access: fall back to the target database */
    }
  }
  return connect(target, { appName: 'pgharden probe admin' });
}

/**
 * Opt-in (it fills the database): a temporary non-superuser login role opens sessions one at a
 * time until the server refuses with 53300. Superusers bypass the limit but their sessions count
 * towards it, so the number admitted must equal datconnlimit minus every session already there.
 * The role and its sessions are removed whatever happens.
 */
export async function probeConnectionLimit(target: Target): Promise<ProbeResult> {
  const as = target.display;
  let admin: Client;
  try {
    admin = await adminSession(target);
  } catch (err) {
    return skipped('connection_limit', as, `cannot connect: ${(err as Error).message}`);
  }
  const role = `pgharden_probe_${randomBytes(4).toString('hex')}`;
  const opened: Client[] = [];
  let created = false;
  try {
    const {
      rows: [info],
    } = await admin.query(
      `SELECT d.datconnlimit AS limit, r.rolsuper OR r.rolcreaterole AS can_create,
              current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
                - (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend') AS free_slots
         FROM pg_database d, pg_roles r WHERE d.datname = $1 AND r.rolname = current_user`,
      [target.database],
    );
    if (!info) return skipped('connection_limit', as, `database ${target.database} not found`);
    if (info.limit < 0) return skipped('connection_limit', as, `database ${target.database} has no connection limit (-1)`);
    if (!info.can_create)
      return skipped('connection_limit', as, 'the connecting role may not create the temporary probe role (needs CREATEROLE or superuser)');
    const heldBefore: number = (await admin.query(HELD_SQL, [target.database])).rows[0].n;
    const expectedAdmitted = Math.max(0, info.limit - heldBefore);
    if (expectedAdmitted >= info.free_slots) {
      return skipped(
        'connection_limit',
        as,
        `the server has ${info.free_slots} free slots (max_connections), fewer than the ${expectedAdmitted} the limit would admit`,
      );
    }
    const password = randomBytes(18).toString('base64url');
    await admin.query(
      `CREATE ROLE ${quoteIdent(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD ${quoteLiteral(password)}`,
    );
    created = true;
    await admin.query(`GRANT CONNECT ON DATABASE ${quoteIdent(target.database)} TO ${quoteIdent(role)}`);

    const probeTarget = asRole(target, role, password);
    let refusal: Error | null = null;
    // One at a time: PostgreSQL's check is approximate when logins race.
    while (opened.length <= expectedAdmitted) {
      try {
        opened.push(await connect(probeTarget, { raw: true, appName: 'pgharden probe connection_limit', onError: () => undefined }));
      } catch (err) {
        refusal = err as Error;
        break;
      }
    }
    const admitted = opened.length;
    const heldAfter: number = (await admin.query(HELD_SQL, [target.database])).rows[0].n - admitted;
    const refusedWith = refusal
      ? (sqlstateOf(refusal) ?? sqlstateOf((refusal as { cause?: unknown }).cause) ?? messageCode(refusal))
      : undefined;
    const base = {
      probe: 'connection_limit' as const,
      as,
      role,
      setting: 'connection_limit',
      name: `connection_limit probe as ${role}`,
      limit: info.limit,
      admitted,
      expectedAdmitted,
      sqlstate: refusedWith,
      expected: `${expectedAdmitted} admitted, then 53300`,
    };
    if (refusal && refusedWith !== TOO_MANY) {
      if (admitted === 0) return skipped('connection_limit', as, `the temporary role ${role} could not log in: ${refusal.message}`);
      return probeResult({
        ...base,
        status: 'failed',
        actual: `${admitted} admitted, then ${refusal.message}`,
        message: `after ${admitted} session(s) the server refused with ${refusal.message}, not 53300 (too many connections)`,
      });
    }
    const ok = refusal !== null && (admitted === expectedAdmitted || admitted === info.limit - heldAfter);
    return probeResult({
      ...base,
      status: ok ? 'passed' : 'failed',
      actual: `${admitted} admitted${refusal ? ', then 53300' : ', and more would have been'}`,
      message: ok
        ? `database ${target.database} admitted ${admitted} non-superuser session(s), then refused with 53300 (limit ${info.limit}, ${heldBefore} session(s) already there)`
        : `database ${target.database} admitted ${admitted}${refusal ? '' : '+'} non-superuser session(s) with limit ${info.limit} and ${heldBefore} already there; expected ${expectedAdmitted}`,
    });
  } catch (err) {
    return skipped('connection_limit', as, `the probe could not run: ${(err as Error).message}`);
  } finally {
    await Promise.all(opened.map((c) => c.end().catch(() => undefined)));
    if (created) await dropProbeRole(admin, role, target.database);
    await admin.end().catch(() => undefined);
  }
}

/** The refusal's SQLSTATE when pg wrapped it: the message is the server's. */
function messageCode(err: Error): string | undefined {
  return /\b53300\b|too many connections/.test(err.message) ? TOO_MANY : undefined;
}

async function dropProbeRole(admin: Client, role: string, database: string): Promise<void> {
  await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [role]).catch(() => undefined);
  await admin.query(`REVOKE CONNECT ON DATABASE ${quoteIdent(database)} FROM ${quoteIdent(role)}`).catch(() => undefined);
  // A backend that is still exiting keeps the role in use for a moment: retry for up to 10 s.
  let last: unknown;
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      await admin.query(`DROP ROLE IF EXISTS ${quoteIdent(role)}`);
      return;
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  // Never silently: the role can log in. `pgharden doctor` lists it with the SQL that removes it.
  process.stderr.write(
    `warning: could not drop the probe's login role ${role} (${(last as Error).message}); remove it with: DROP ROLE ${quoteIdent(role)}; (or pgharden doctor --fix)\n`,
  );
}
