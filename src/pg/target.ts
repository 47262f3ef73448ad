import os from 'node:os';
import type { ClientConfig } from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import { UsageError } from '../errors.js';

/** Where a connection's settings came from (libpq conventions, DESIGN.md §4). */
export type TargetSource = '--db' | 'DATABASE_URL' | 'libpq environment' | 'embedded';

/** A resolved server + database to work on. Never holds a printable password. */
export interface Target {
  source: TargetSource;
  /** Connection settings for the target database; pg fills gaps from PG* variables and ~/.pgpass. */
  config: ClientConfig;
  database: string;
  /** `postgres://user@host:port/db`, never with the password. */
  display: string;
}

const LIBPQ_VARS = ['PGHOST', 'PGPORT', 'PGUSER', 'PGPASSWORD', 'PGDATABASE', 'PGSSLMODE', 'PGSERVICE'];

/** True when nothing names a server, so the embedded default applies. */
export function wantsEmbedded(dbFlag: string | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  return !dbFlag && !env.DATABASE_URL && !LIBPQ_VARS.some((v) => env[v]);
}

/** --db URL, else DATABASE_URL, else the libpq environment (PGHOST, PGUSER, …, ~/.pgpass). */
export function resolveTarget(dbFlag: string | undefined, env: NodeJS.ProcessEnv = process.env): Target {
  const url = dbFlag ?? env.DATABASE_URL;
  if (url) return fromUrl(url, dbFlag ? '--db' : 'DATABASE_URL', env);
  const user = env.PGUSER ?? os.userInfo().username;
  const config: ClientConfig = {};
  const database = env.PGDATABASE ?? user;
  return {
    source: 'libpq environment',
    config,
    database,
    display: describe({ user, host: env.PGHOST ?? 'localhost', port: env.PGPORT ?? '5432', database }),
  };
}

export function fromUrl(url: string, source: TargetSource, env: NodeJS.ProcessEnv = process.env): Target {
  let config: ClientConfig;
  try {
    config = parseIntoClientConfig(url);
  } catch (err) {
    throw new UsageError(`cannot parse the connection URL given by ${source}: ${(err as Error).message}`);
  }
  // Fill what the URL leaves out from the libpq environment, as psql does.
  const user = config.user ?? env.PGUSER ?? os.userInfo().username;
  const database = config.database ?? env.PGDATABASE ?? user;
  config = { ...config, user, database };
  return {
    source,
    config,
    database,
    display: describe({ user, host: config.host ?? 'localhost', port: String(config.port ?? 5432), database }),
  };
}

/** The same server and credentials, another database. */
export function withDatabase(target: Target, database: string): Target {
  const display = target.display.replace(/\/[^/]*$/, '/' + encodeURIComponent(database));
  return { ...target, database, config: { ...target.config, database }, display };
}

function describe(p: { user: string; host: string; port: string; database: string }): string {
  const host = p.host.startsWith('/') ? `[socket ${p.host}]` : p.host;
  return `postgres://${encodeURIComponent(p.user)}@${host}:${p.port}/${encodeURIComponent(p.database)}`;
}
