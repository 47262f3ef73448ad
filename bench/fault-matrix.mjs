/**
 * The crash-injection matrix, shared by test/faults.test.ts and bench/faults.mjs.
 *
 * For every journaled step of `apply`, `rollback` and `run` (listed by running the command once
 * with PGHARDEN_FAULT_LIST), a fresh database is taken through the command with
 * PGHARDEN_FAULT=<step>, which SIGKILLs the process right after that step commits. Then:
 *   - `status --json` must name the run's state and, when one is owed, the next command;
 *   - that command (`rollback --run ID`, or `run --resume ID`) must converge to the exact
 *     expected state: the snapshot taken before (rollback), or the target state (resume).
 * Needs a built dist/ and a server URL of a superuser on its `postgres` database.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

export const FAULT_POLICY = `
settings:
  statement_timeout: 2s
  idle_in_transaction_session_timeout: 3s
  work_mem: 64MB
  log_min_duration_statement: 1s
connection_limit: 20
guard_window: 2s
`;

const dbUrl = (serverUrl, database) => {
  const u = new URL(serverUrl);
  u.pathname = '/' + encodeURIComponent(database);
  return u.toString();
};

async function query(url, text, params = []) {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query(text, params)).rows;
  } finally {
    await client.end();
  }
}

/** What rollback must restore: the database-level settings and the connection limit. */
export async function snapshot(serverUrl, database) {
  const [row] = await query(
    serverUrl,
    `SELECT (SELECT setconfig FROM pg_db_role_setting s WHERE s.setdatabase = d.oid AND s.setrole = 0) AS setconfig, d.datconnlimit AS connlimit
       FROM pg_database d WHERE datname = $1`,
    [database],
  );
  return JSON.stringify({ setconfig: [...(row.setconfig ?? [])].sort(), connlimit: row.connlimit });
}

function cli(args, { cwd, env = {} }) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^PG|^DATABASE_URL$/.test(k)));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd, env: { ...clean, ...env, NO_COLOR: '1' }, timeout: 300_000 },
      (err, stdout, stderr) => {
        let json = null;
        try {
          json = JSON.parse(stdout);
        } catch {
          /* not JSON */
        }
        resolve({ code: err ? (err.code ?? null) : 0, signal: err?.signal ?? null, stdout, stderr, json });
      },
    );
  });
}

async function scratch(serverUrl, fn) {
  const database = `fault_${randomBytes(4).toString('hex')}`;
  const cwd = await fs.mkdtemp(path.join(os.tmpdir(), 'pgharden-fault-'));
  await query(serverUrl, `CREATE DATABASE "${database}"`);
  // A prior value set by hand: rollback must restore it, not RESET it.
  await query(serverUrl, `ALTER DATABASE "${database}" SET work_mem = '8MB'`);
  try {
    return await fn({ database, url: dbUrl(serverUrl, database), cwd });
  } finally {
    await query(serverUrl, `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).catch(() => undefined);
    await fs.rm(cwd, { recursive: true, force: true });
  }
}

const COMMANDS = {
  apply: (url, policy) => ['apply', '--db', url, '--policy', policy, '--yes', '--json'],
  run: (url, policy) => ['run', '--db', url, '--policy', policy, '--yes', '--no-probes', '--window', '2s', '--json'],
};

/** The journaled steps of a command, in order, from one clean pass with PGHARDEN_FAULT_LIST. */
export async function injectionPoints(serverUrl, command, policy) {
  return scratch(serverUrl, async ({ url, cwd }) => {
    const list = path.join(cwd, 'points.txt');
    if (command === 'rollback') {
      await cli(COMMANDS.apply(url, policy), { cwd });
      await cli(['rollback', '--db', url, '--policy', policy, '--yes', '--json'], { cwd, env: { PGHARDEN_FAULT_LIST: list } });
    } else {
      await cli(COMMANDS[command](url, policy), { cwd, env: { PGHARDEN_FAULT_LIST: list } });
    }
    return [...new Set((await fs.readFile(list, 'utf8')).trim().split('\n'))];
  });
}

/** One injection point: crash there, ask `status`, run the command it names, and compare. */
export async function injectAt(serverUrl, command, point, policy) {
  return scratch(serverUrl, async ({ database, url, cwd }) => {
    const before = await snapshot(serverUrl, database);
    const fault = { PGHARDEN_FAULT: point };
    if (command === 'rollback') await cli(COMMANDS.apply(url, policy), { cwd });
    const crashed =
      command === 'rollback'
        ? await cli(['rollback', '--db', url, '--policy', policy, '--yes', '--json'], { cwd, env: fault })
        : await cli(COMMANDS[command](url, policy), { cwd, env: fault });
    const killed = crashed.signal === 'SIGKILL';
    const status = await cli(['status', '--db', url, '--policy', policy, '--json'], { cwd });
    const run = status.json?.runs?.[0];
    const unfinished = status.json?.unfinished?.[0] ?? null;
    const named = run ? `${run.status}${unfinished ? ` → ${unfinished.next}` : ''}` : 'no run';
    let converged;
    let via;
    if (command === 'run' && unfinished && /run --resume/.test(unfinished.next)) {
      // The run is resumable: resume it, then it must pass with the hardening in force; a rollback then restores exactly.
      const resumed = await cli(['run', '--db', url, '--policy', policy, '--resume', run.id, '--window', '2s', '--json'], { cwd });
      const after = await cli(['plan', '--db', url, '--policy', policy, '--json'], { cwd });
      const inTarget = resumed.code === 0 && after.json?.operations?.length === 0;
      await cli(['rollback', '--db', url, '--policy', policy, '--yes', '--json'], { cwd });
      converged = inTarget && (await snapshot(serverUrl, database)) === before;
      via = `run --resume (exit ${resumed.code}) then rollback`;
    } else {
      // Anything else: roll back (what status names, or the plain command when nothing is owed).
      const rolled = await cli(['rollback', '--db', url, '--policy', policy, '--yes', '--json'], { cwd });
      converged = rolled.code === 0 && (await snapshot(serverUrl, database)) === before;
      via = `rollback (exit ${rolled.code})`;
    }
    return { command, point, killed, named, via, converged };
  });
}

/** Every point of every command; `limit` runs at most that many at once (each on its own database). */
export async function faultMatrix(serverUrl, { commands = ['apply', 'rollback', 'run'], policyFile, limit = 3, onResult } = {}) {
  const results = [];
  for (const command of commands) {
    const points = await injectionPoints(serverUrl, command, policyFile);
    for (let i = 0; i < points.length; i += limit) {
      const batch = await Promise.all(points.slice(i, i + limit).map((p) => injectAt(serverUrl, command, p, policyFile)));
      for (const r of batch) onResult?.(r);
      results.push(...batch);
    }
  }
  return results;
}

export async function writePolicy(text = FAULT_POLICY) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgharden-fault-policy-'));
  const file = path.join(dir, 'policy.yaml');
  await fs.writeFile(file, text);
  return file;
}
