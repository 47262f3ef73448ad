import { ConnectionError, ExitCode, PghardenError, RefusedError, UsageError } from '../errors.js';
import { consoleLog, type Log } from '../log.js';
import { connect, isConnectFailure, type Client } from '../pg/client.js';
import type { EmbeddedServer } from '../pg/embedded.js';
import { resolveTarget, wantsEmbedded, withDatabase, type Target } from '../pg/target.js';
import { loadPolicy } from '../policy/load.js';
import type { Policy } from '../policy/schema.js';
import type { StageContext } from '../stage.js';
import { explainStateAccessError } from '../state/grants.js';

export interface GlobalOptions {
  db?: string;
  policy?: string;
  json?: boolean;
  yes?: boolean;
  /** Use the embedded PostgreSQL (also PGHARDEN_EMBEDDED=1). */
  embedded?: boolean;
  /** An environment of the policy's `environments:` (its db and its rules). */
  env?: string;
}

export interface CommandEnv {
  ctx: StageContext;
  /** The tool's own session on the target database (explicit statement_timeout, never idle in a transaction). */
  client: Client;
  embedded: EmbeddedServer | null;
  log: Log;
  json: boolean;
}

/** A command's result: `ok` decides exit 0 or 1 unless `exitCode` says otherwise. */
export interface CommandResult {
  ok: boolean;
  exitCode?: number;
}

export const EMBEDDED_DATABASE = 'codex_memory';

/** The embedded server: start or join it, say so on the first line, and make sure the database exists. */
export async function embeddedTarget(
  log: Log,
  database: string,
  why = 'no --db, DATABASE_URL or PG* variables',
): Promise<{ server: EmbeddedServer; target: Target }> {
  // Imported here: most commands name a server, and need none of the embedded server's code.
  const { DEFAULT_EMBEDDED_DIR, embeddedLocation, startEmbedded } = await import('../pg/embedded.js');
  const loc = embeddedLocation(DEFAULT_EMBEDDED_DIR);
  const where = loc.relocated ? `${loc.root}/ (${loc.relocated})` : `${DEFAULT_EMBEDDED_DIR}/`;
  log.info(`pgharden: ${why}: using the embedded PostgreSQL in ${where} (database ${database})`);
  const server = await startEmbedded(loc);
  await server.createDatabase(database);
  return { server, target: server.target(database) };
}

export const NO_SERVER_NAMED =
  'no server named: give --db URL or conninfo (or set DATABASE_URL, PGHOST/PGDATABASE/PGSERVICE…), or --embedded for a private throwaway PostgreSQL';

/**
 * The embedded server only when a person asked for it: --embedded, PGHARDEN_EMBEDDED=1, or an interactive
 * terminal with no server named. A script (cron, NRPE, CI) that names no server must not get a
 * throwaway database that answers "OK": it gets exit 3.
 */
export function embeddedReason(opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env): string | null {
  const asked = opts.embedded || env.PGHARDEN_EMBEDDED === '1';
  if (asked && opts.db) throw new UsageError('--embedded and --db name two different servers: give one');
  if (asked) return opts.embedded ? '--embedded' : 'PGHARDEN_EMBEDDED=1';
  if (!wantsEmbedded(opts.db, env)) return null;
  if (process.stdin.isTTY && process.stderr.isTTY) return 'no --db, DATABASE_URL or PG* variables (interactive terminal)';
  throw new ConnectionError(NO_SERVER_NAMED);
}

/** Where a command works: --db / DATABASE_URL / PG* variables, else the embedded server when asked for. */
export async function chooseTarget(
  opts: GlobalOptions,
  policy: Policy,
  log: Log,
): Promise<{ target: Target; embedded: EmbeddedServer | null }> {
  if (opts.env !== undefined) {
    const env = environmentOf(opts, policy);
    const target = resolveTarget(env.db);
    return { target: policy.database ? withDatabase(target, policy.database) : target, embedded: null };
  }
  const why = embeddedReason(opts);
  if (why) {
    const { server, target } = await embeddedTarget(log, policy.database ?? EMBEDDED_DATABASE, why);
    return { target, embedded: server };
  }
  const target = resolveTarget(opts.db);
  return { target: policy.database ? withDatabase(target, policy.database) : target, embedded: null };
}

/** The environment --env names; --env with --db or --embedded names two targets. */
export function environmentOf(opts: GlobalOptions, policy: Policy): Policy['environments'][string] {
  if (opts.db || opts.embedded)
    throw new UsageError(`--env ${opts.env} and ${opts.db ? '--db' : '--embedded'} name two different targets: give one`);
  const names = Object.keys(policy.environments);
  if (!Object.hasOwn(policy.environments, opts.env!)) {
    throw new UsageError(
      `--env ${JSON.stringify(opts.env)}: policy ${policy.source} has ${names.length ? `environments ${names.join(', ')}` : 'no environments:'}`,
    );
  }
  return policy.environments[opts.env!];
}

/** The rules of environment `name` as stages read them (StageContext.environment). */
export function environmentRules(name: string, policy: Policy): NonNullable<StageContext['environment']> {
  const e = policy.environments[name];
  return { name, approval: e.approval, requires: e.requires, window: e.window, poolers: e.poolers, maxLoad: e.max_load };
}

/**
 * The frame of every database command: validate the policy before any connection,
 * connect (embedded default when nothing is configured), run, render, and always clean up.
 */
export async function runCommand<T extends CommandResult>(
  opts: GlobalOptions,
  body: (env: CommandEnv) => Promise<T>,
  render: (result: T, env: { log: Log; json: boolean }) => void,
): Promise<void> {
  const json = Boolean(opts.json);
  const log = consoleLog(json);
  let embedded: EmbeddedServer | null = null;
  let client: Client | null = null;
  try {
    const policy = await loadPolicy(opts.policy);
    const chosen = await chooseTarget(opts, policy, log);
    embedded = chosen.embedded;
    const target = chosen.target;
    client = await connect(target, { onError: (err) => log.warn(`connection lost: ${err.message}`) });
    const environment = opts.env !== undefined ? environmentRules(opts.env, policy) : undefined;
    report(await body({ ctx: { target, policy, log, environment }, client, embedded, log, json }), { log, json }, render);
  } catch (err) {
    // A 42501 on the state schema names its owner and the grants to run (state/grants.ts).
    fail(await explainStateAccessError(client, err), json);
  } finally {
    await client?.end().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
  }
}

/**
 * The same frame for a command that needs no database session (offline lint, migrate new/check,
 * alerts export, demo): one JSON document with `ok` under --json, one exit code, errors as the
 * contract says. `body` owns whatever it starts (it stops it in its own finally).
 */
export async function runOffline<T extends CommandResult>(
  opts: Pick<GlobalOptions, 'json'>,
  body: (env: { log: Log; json: boolean }) => Promise<T>,
  render: (result: T, env: { log: Log; json: boolean }) => void,
): Promise<void> {
  const json = Boolean(opts.json);
  const log = consoleLog(json);
  try {
    report(await body({ log, json }), { log, json }, render);
  } catch (err) {
    fail(err, json);
  }
}

/** A command's result: the JSON document first (stdout), then the human rendering, then the exit code. */
function report<T extends CommandResult>(
  result: T,
  env: { log: Log; json: boolean },
  render: (result: T, env: { log: Log; json: boolean }) => void,
): void {
  if (env.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  render(result, env);
  process.exitCode = result.exitCode ?? (result.ok ? ExitCode.ok : ExitCode.checkFailed);
}

/** Print an error the way the exit-code contract promises, and set the exit code. */
export function fail(err: unknown, json: boolean): void {
  const known = toPghardenError(err);
  if (json) {
    process.stdout.write(
      JSON.stringify({ ok: false, exitCode: known.exitCode, error: known.message, details: known.details }, null, 2) + '\n',
    );
  }
  process.stderr.write(`pgharden: ${known.message}\n`);
  if (process.env.PGHARDEN_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  process.exitCode = known.exitCode;
}

function toPghardenError(err: unknown): PghardenError {
  if (err instanceof PghardenError) return err;
  const e = err as { code?: string; message?: string };
  if (isConnectFailure(err)) return new ConnectionError(e.message ?? String(err));
  if (e?.code && /^[0-9A-Z]{5}$/.test(e.code)) {
    // A SQLSTATE: the database refused what we asked (privilege, lock, …).
    return new RefusedError(`the database refused: ${e.message} (SQLSTATE ${e.code})`, e.code);
  }
  return new PghardenError(
    `internal error (a bug in pgharden): ${e?.message ?? String(err)} (set PGHARDEN_DEBUG=1 for the stack)`,
    ExitCode.internal,
  );
}
