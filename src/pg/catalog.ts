import type { Client } from './client.js';
import type { ParamMeta } from './units.js';
import { ConnectionError } from '../errors.js';
import { loadRedactor, redactAndTruncate, redactSql } from '../redact-sql.js';

/** One row of pg_settings, as seen by the tool's session. */
export interface SettingRow extends ParamMeta {
  setting: string;
  context: string;
  source: string;
  sourcefile: string | null;
  bootVal: string | null;
  resetVal: string | null;
  shortDesc: string;
}

/** A `name=value` entry of pg_db_role_setting, with the role it belongs to (null = every role). */
export interface RoleSettingRow {
  role: string | null;
  /** 'in-database': ALTER ROLE r IN DATABASE d SET; 'all-databases': ALTER ROLE r SET. */
  scope: 'in-database' | 'all-databases';
  name: string;
  value: string;
}

export interface LoginRole {
  name: string;
  superuser: boolean;
  connLimit: number;
}

export interface SessionRow {
  pid: number;
  usename: string | null;
  applicationName: string;
  state: string | null;
  backendStart: string;
  /** ms since query_start (active) and since state_change, on the server's clock. */
  queryMs: number | null;
  stateMs: number | null;
  query: string;
}

export interface StatementRow {
  queryid: string;
  query: string;
  calls: number;
  meanMs: number;
  maxMs: number;
}

/** Everything plan, preflight, verify and rollback need to know about one database. */
export interface DatabaseState {
  server: { version: string; versionNum: number; maxConnections: number; reservedConnections: number };
  me: { user: string; superuser: boolean; createRole: boolean; ownsDatabase: boolean; canSet: Record<string, boolean> };
  database: { name: string; oid: number; owner: string; connLimit: number };
  settings: Map<string, SettingRow>;
  /** What each parameter is at server level (postgresql.conf, command line, built-in), beneath any database or role value. */
  serverValues: Record<string, string>;
  /** Database-level values (ALTER DATABASE d SET), in catalog order. */
  dbSettings: { name: string; value: string }[];
  /** Values set for every role in every database (ALTER ROLE ALL SET). */
  globalSettings: { name: string; value: string }[];
  roleSettings: RoleSettingRow[];
  loginRoles: LoginRole[];
  /** Every role but the built-in pg_* ones: a policy's `roles:` may name a group role (NOLOGIN). */
  roles: { name: string; canLogin: boolean }[];
  sessions: SessionRow[];
  /** null when pg_stat_statements is not installed in this database or not loaded. */
  statements: StatementRow[] | null;
  capturedAt: string;
}

/**
 * `{a=1,b=2}` → [{name:'a', value:'1'}, …] (values may contain '='). Parameter names are
 * case-insensitive in PostgreSQL (`TimeZone`, `timezone`): we key everything by lower case.
 */
export function parseSetconfig(entries: string[] | null): { name: string; value: string }[] {
  return (entries ?? []).map((e) => {
    const i = e.indexOf('=');
    return { name: e.slice(0, i).toLowerCase(), value: e.slice(i + 1) };
  });
}

export async function readSettings(client: Client): Promise<Map<string, SettingRow>> {
  const { rows } = await client.query(
    `SELECT name, setting, unit, vartype, context, source, sourcefile, boot_val, reset_val, short_desc,
            min_val::float8 AS min, max_val::float8 AS max, enumvals
       FROM pg_settings`,
  );
  return new Map(
    rows.map((r) => [
      r.name.toLowerCase(),
      {
        name: r.name.toLowerCase(),
        setting: r.setting,
        unit: r.unit,
        vartype: r.vartype,
        context: r.context,
        source: r.source,
        sourcefile: r.sourcefile,
        bootVal: r.boot_val,
        resetVal: r.reset_val,
        shortDesc: r.short_desc,
        min: r.min,
        max: r.max,
        enumvals: r.enumvals,
      } satisfies SettingRow,
    ]),
  );
}

/** Read the database's configuration state; `params` are the parameters whose SET privilege we need to know. */
export async function readDatabaseState(client: Client, database: string, params: string[] = []): Promise<DatabaseState> {
  const db = await client.query(
    `SELECT d.oid::int AS oid, d.datconnlimit AS connlimit, pg_get_userbyid(d.datdba) AS owner,
            pg_has_role(d.datdba, 'USAGE') AS owns, r.rolsuper AS superuser, r.rolcreaterole AS createrole, current_user AS me,
            current_setting('server_version') AS version, current_setting('server_version_num')::int AS version_num,
            current_setting('max_connections')::int AS max_connections,
            current_setting('superuser_reserved_connections')::int
              + coalesce(current_setting('reserved_connections', true)::int, 0) AS reserved,
            now() AS captured_at
       FROM pg_database d, pg_roles r
      WHERE d.datname = $1 AND r.rolname = current_user`,
    [database],
  );
  if (!db.rowCount) throw new ConnectionError(`database ${JSON.stringify(database)} does not exist on this server`);
  const d = db.rows[0];

  // One session runs one query at a time: read in sequence.
  const settings = await readSettings(client);
  const fileSettings = await readFileSettings(client);
  const roleRows = await client.query(
    `SELECT s.setdatabase::int AS setdatabase, r.rolname AS role, s.setconfig
       FROM pg_db_role_setting s LEFT JOIN pg_roles r ON r.oid = s.setrole
      WHERE s.setdatabase IN (0, $1)`,
    [d.oid],
  );
  const logins = await client.query(
    `SELECT rolname AS name, rolsuper AS superuser, rolconnlimit AS connlimit
       FROM pg_roles WHERE rolcanlogin AND has_database_privilege(oid, $1::oid, 'CONNECT') ORDER BY rolname`,
    [d.oid],
  );
  const allRoles = await client.query(
    `SELECT rolname AS name, rolcanlogin AS login FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY rolname`,
  );
  const sessions = await readSessions(client, database);
  const canSet = await readSetPrivileges(client, params, d.superuser, d.version_num);
  const statements = await readStatements(client, d.oid);

  const dbSettings: DatabaseState['dbSettings'] = [];
  const globalSettings: DatabaseState['globalSettings'] = [];
  const roleSettings: RoleSettingRow[] = [];
  for (const row of roleRows.rows) {
    const entries = parseSetconfig(row.setconfig);
    if (row.role === null) (row.setdatabase === 0 ? globalSettings : dbSettings).push(...entries);
    else {
      const scope = row.setdatabase === 0 ? 'all-databases' : 'in-database';
      roleSettings.push(...entries.map((e) => ({ role: row.role, scope, ...e }) as RoleSettingRow));
    }
  }
  roleSettings.sort((a, b) => `${a.role}${a.scope}${a.name}`.localeCompare(`${b.role}${b.scope}${b.name}`));

  return {
    server: { version: d.version, versionNum: d.version_num, maxConnections: d.max_connections, reservedConnections: d.reserved },
    me: { user: d.me, superuser: d.superuser, createRole: d.createrole, ownsDatabase: d.owns, canSet },
    database: { name: database, oid: d.oid, owner: d.owner, connLimit: d.connlimit },
    settings,
    serverValues: serverValues(settings, fileSettings),
    dbSettings,
    globalSettings,
    roleSettings,
    loginRoles: logins.rows.map((r) => ({ name: r.name, superuser: r.superuser, connLimit: r.connlimit })),
    roles: allRoles.rows.map((r) => ({ name: r.name, canLogin: r.login })),
    sessions,
    statements,
    capturedAt: new Date(d.captured_at).toISOString(),
  };
}

/** Sessions on `database` other than our own, with durations on the server's clock. */
export async function readSessions(client: Client, database: string): Promise<SessionRow[]> {
  const { rows } = await client.query(
    `SELECT pid, usename, application_name, state, backend_start,
            (extract(epoch FROM now() - query_start) * 1000)::float8 AS query_ms,
            (extract(epoch FROM now() - state_change) * 1000)::float8 AS state_ms,
            left(query, 500) AS query
       FROM pg_stat_activity
      WHERE datname = $1 AND pid <> pg_backend_pid()
        -- Without pg_read_all_stats, other roles' backend_type reads NULL: count them rather than hide them.
        AND (backend_type = 'client backend' OR backend_type IS NULL)`,
    [database],
  );
  return rows.map((r) => ({
    pid: r.pid,
    usename: r.usename,
    applicationName: r.application_name,
    state: r.state,
    backendStart: new Date(r.backend_start).toISOString(),
    queryMs: r.query_ms,
    stateMs: r.state_ms,
    query: redactSql(r.query ?? ''),
  }));
}

/** Which parameters this role may set (superuser, or SET granted on the parameter in PG 15+). */
async function readSetPrivileges(client: Client, params: string[], superuser: boolean, versionNum: number) {
  if (superuser || versionNum < 150000 || params.length === 0) {
    return Object.fromEntries(params.map((p) => [p, superuser]));
  }
  const { rows } = await client.query(
    `SELECT p AS name, coalesce((SELECT has_parameter_privilege(s.name, 'SET') FROM pg_settings s WHERE lower(s.name) = lower(p)), false) AS ok
       FROM unnest($1::text[]) AS p`,
    [params],
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.ok]));
}

/** Top statements by max time, when pg_stat_statements is installed here and loaded. */
export async function readStatements(client: Client, dbOid: number, limit = 20): Promise<StatementRow[] | null> {
  const ext = await client.query(
    `SELECT extnamespace::regnamespace::text AS schema FROM pg_extension WHERE extname = 'pg_stat_statements'`,
  );
  if (!ext.rowCount) return null;
  const view = `${ext.rows[0].schema}.pg_stat_statements`.replace(/[^A-Za-z0-9_."]/g, '');
  try {
    const { rows } = await client.query(
      // The whole text, redacted before it is cut to 300 characters (see redact-sql.ts).
      `SELECT queryid::text, query, calls::float8, mean_exec_time AS mean_ms, max_exec_time AS max_ms
         FROM ${view} WHERE dbid = $1 ORDER BY max_exec_time DESC LIMIT ${limit}`,
      [dbOid],
    );
    await loadRedactor();
    return rows.map((r) => ({
      queryid: r.queryid,
      query: redactAndTruncate(r.query ?? '', 300),
      calls: r.calls,
      meanMs: r.mean_ms,
      maxMs: r.max_ms,
    }));
  } catch {
    return null; // installed but not in shared_preload_libraries, or no privilege
  }
}

/** Sources that describe the server-level value itself, not a database, role or session one. */
const SERVER_SOURCES = new Set(['default', 'configuration file', 'command line', 'environment variable', 'override']);

function serverValues(settings: Map<string, SettingRow>, fromFiles: Map<string, string> | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of settings.values()) {
    out[s.name] = SERVER_SOURCES.has(s.source) ? s.setting : (fromFiles?.get(s.name) ?? s.bootVal ?? s.setting);
  }
  return out;
}

/** postgresql.conf and postgresql.auto.conf values in force (needs pg_read_all_settings); null if unreadable. */
async function readFileSettings(client: Client): Promise<Map<string, string> | null> {
  try {
    const { rows } = await client.query(`SELECT name, setting FROM pg_file_settings WHERE applied ORDER BY seqno`);
    return new Map(rows.map((r) => [r.name.toLowerCase(), r.setting]));
  } catch {
    return null;
  }
}
