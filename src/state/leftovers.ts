import type { Client } from '../pg/client.js';
import { quoteIdent } from '../pg/quote.js';
import { nextCommand } from '../run/state.js';
import { stateSchemaExists, unfinishedRuns } from './store.js';

/** Something pgharden created that should not have outlived the command that made it. */
export interface Leftover {
  kind: 'role' | 'database' | 'session' | 'run';
  name: string;
  detail: string;
  /** The SQL (or command, for runs) that removes it. */
  fix: string;
  /** True when `doctor --fix` may run `fix` itself (SQL that removes only what pgharden made). */
  fixable: boolean;
}

/**
 * Roles of the connection-limit probe, rehearsal databases, probe sessions still running (a
 * double Ctrl-C during verify), pgharden sessions idle in a transaction, and unfinished runs of
 * the connected database. Each comes with what removes it. Sessions count only after 5 minutes:
 * no probe lives that long, and a live command's sessions must never be touched.
 */
export async function findLeftovers(client: Client, database: string): Promise<Leftover[]> {
  const found: Leftover[] = [];
  // Only what no session uses right now: a live probe or rehearsal of another pgharden is not a leftover.
  const roles = await client.query(
    `SELECT rolname FROM pg_roles r WHERE rolname LIKE 'pgharden\\_probe\\_%'
        AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.usename = r.rolname) ORDER BY 1`,
  );
  for (const r of roles.rows) {
    found.push({
      kind: 'role',
      name: r.rolname,
      detail: 'login role of the connection-limit probe',
      fix: `DROP ROLE ${quoteIdent(r.rolname)};`,
      fixable: true,
    });
  }
  const dbs = await client.query(
    `SELECT datname FROM pg_database d WHERE datname LIKE 'pgharden\\_rehearsal\\_%'
        AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname) ORDER BY 1`,
  );
  for (const d of dbs.rows) {
    found.push({
      kind: 'database',
      name: d.datname,
      detail: 'scratch database of --rehearse-rollback',
      fix: `DROP DATABASE ${quoteIdent(d.datname)} WITH (FORCE);`,
      fixable: true,
    });
  }
  const sessions = await client.query(
    `SELECT pid, application_name, state, datname, round(extract(epoch FROM now() - coalesce(state_change, backend_start)))::int AS secs
       FROM pg_stat_activity
      WHERE pid <> pg_backend_pid() AND backend_start < now() - interval '5 minutes'
        AND (application_name LIKE 'pgharden probe%' OR (application_name LIKE 'pgharden%' AND state LIKE 'idle in transaction%'))
      ORDER BY pid`,
  );
  for (const s of sessions.rows) {
    found.push({
      kind: 'session',
      name: `pid ${s.pid}`,
      detail: `${s.application_name} on ${s.datname}, ${s.state} for ${s.secs}s`,
      fix: `SELECT pg_terminate_backend(${Number(s.pid)});`,
      fixable: true,
    });
  }
  if (await stateSchemaExists(client)) {
    for (const r of await unfinishedRuns(client, database)) {
      found.push({ kind: 'run', name: r.id, detail: `${r.command} run is ${r.status}`, fix: nextCommand(r) ?? '', fixable: false });
    }
  }
  return found;
}
