import { RefusedError } from '../errors.js';
import type { Client } from '../pg/client.js';

/**
 * Who may read and write the `pgharden` state schema.
 *
 * Readers: monitoring roles (members of `pg_monitor`) read the journal for rollout tracking
 * and `status`; without USAGE on the schema every query naming it — even `to_regclass` —
 * fails with 42501. So the schema's owner grants read access to pg_monitor whenever pgharden
 * makes sure the schema exists.
 *
 * Writers: the schema belongs to whoever created it first (often `postgres`). A database
 * owner who runs pgharden later gets "permission denied for schema pgharden" from the
 * server, which says neither who owns it nor what to grant: `stateAccessError` says both.
 */

export const STATE_SCHEMA = 'pgharden';

/** Roles given read access to the state schema when it is created (or found without it). */
export const STATE_READERS = ['pg_monitor'];

/** The statements that let `role` read every table of the state schema, now and later. */
export function readerGrants(role: string): string[] {
  const r = `"${role.replace(/"/g, '""')}"`;
  return [
    `GRANT USAGE ON SCHEMA ${STATE_SCHEMA} TO ${r}`,
    `GRANT SELECT ON ALL TABLES IN SCHEMA ${STATE_SCHEMA} TO ${r}`,
    // Tables created later by the same owner (alerts, loadtests, schema_migrations).
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${STATE_SCHEMA} GRANT SELECT ON TABLES TO ${r}`,
  ];
}

/** What the owner runs so that `role` may use the state schema as pgharden does (read and write). */
export function writerGrants(role: string): string[] {
  const r = `"${role.replace(/"/g, '""')}"`;
  return [
    `GRANT USAGE, CREATE ON SCHEMA ${STATE_SCHEMA} TO ${r}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${STATE_SCHEMA} TO ${r}`,
    `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${STATE_SCHEMA} TO ${r}`,
  ];
}

interface Access {
  exists: boolean;
  owner: string | null;
  /** current_user is the owner or a member of it (superusers are members of every role). */
  isOwner: boolean;
  /** USAGE and CREATE on the schema, INSERT/UPDATE on every table and USAGE on every sequence in it. */
  canWrite: boolean;
  /** Whether every reader role has USAGE on the schema and SELECT on all its tables. */
  readersGranted: boolean;
}

async function readAccess(client: Client): Promise<Access> {
  const { rows } = await client.query(
    `SELECT n.nspowner::regrole::text AS owner,
            pg_has_role(current_user, n.nspowner, 'MEMBER') AS is_owner,
            has_schema_privilege(n.oid, 'USAGE') AND has_schema_privilege(n.oid, 'CREATE')
              AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p')
                                AND NOT has_table_privilege(c.oid, 'INSERT, UPDATE'))
              -- CASE: the planner may call the function before the relkind filter, and it raises on a non-sequence.
              AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid
                                AND CASE WHEN c.relkind = 'S' THEN NOT has_sequence_privilege(c.oid, 'USAGE') ELSE false END) AS can_write,
            NOT EXISTS (
              SELECT 1 FROM unnest($1::text[]) AS r(name) JOIN pg_roles pr ON pr.rolname = r.name
               WHERE NOT has_schema_privilege(pr.oid, n.oid, 'USAGE')
                  OR EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'v')
                               AND NOT has_table_privilege(pr.oid, c.oid, 'SELECT'))) AS readers_granted
       FROM pg_namespace n WHERE n.nspname = $2`,
    [STATE_READERS, STATE_SCHEMA],
  );
  const r = rows[0];
  if (!r) return { exists: false, owner: null, isOwner: true, canWrite: true, readersGranted: false };
  return { exists: true, owner: r.owner, isOwner: r.is_owner, canWrite: r.is_owner || r.can_write, readersGranted: r.readers_granted };
}

/** The error for a role that may not use a state schema someone else owns: who owns it, and what to run. */
function noAccessError(owner: string, user: string, cause?: string): RefusedError {
  const grants = writerGrants(user)
    .map((s) => `  ${s};`)
    .join('\n');
  return new RefusedError(
    `${cause ? `${cause}: ` : ''}the state schema ${STATE_SCHEMA} belongs to role ${owner}, and ${user} may not use it. ` +
      `As ${owner} (or a superuser), run either\n${grants}\nor hand the schema over: ALTER SCHEMA ${STATE_SCHEMA} OWNER TO "${user.replace(/"/g, '""')}"; ` +
      `(and ALTER TABLE … OWNER TO for its tables). To let ${user} only read it (status, monitor): ` +
      readerGrants(user).slice(0, 2).join('; ') +
      ';',
    '42501',
  );
}

/**
 * Before pgharden writes its state: refuse with the owner's name and the grants to run when
 * the schema exists and this role may not write to it (instead of the server's bare 42501
 * on the first INSERT, or "must be owner of schema" on the DDL).
 */
export async function assertStateWritable(client: Client): Promise<void> {
  const access = await readAccess(client);
  if (access.exists && !access.canWrite) {
    const { rows } = await client.query('SELECT current_user AS u');
    throw noAccessError(access.owner!, rows[0].u);
  }
}

/** After the DDL: read access for the reader roles, granted by the owner (others cannot grant, so they skip). */
export async function grantStateReaders(client: Client): Promise<void> {
  const access = await readAccess(client);
  if (!access.exists || access.readersGranted || !access.isOwner) return;
  const { rows } = await client.query(`SELECT rolname FROM pg_roles WHERE rolname = ANY($1::text[])`, [STATE_READERS]);
  for (const { rolname } of rows) for (const sql of readerGrants(rolname)) await client.query(sql);
}

/**
 * A 42501 that names the state schema or one of its tables becomes an error that names the
 * schema's owner and the grants to run. Anything else is returned unchanged.
 */
export async function explainStateAccessError(client: Client | null, err: unknown): Promise<unknown> {
  const e = err as { code?: string; message?: string };
  if (e?.code !== '42501' || !/\b(schema|table|relation|sequence) "?pgharden\b|pgharden\./.test(e.message ?? '')) return err;
  if (!client) return err;
  try {
    const { rows } = await client.query(
      `SELECT current_user AS u, (SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = $1) AS owner`,
      [STATE_SCHEMA],
    );
    if (!rows[0]?.owner) return err;
    return noAccessError(rows[0].owner, rows[0].u, e.message);
  } catch {
    return err; // the session is gone: the server's own message is all we have
  }
}
