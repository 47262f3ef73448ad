import type { DatabaseState } from '../pg/catalog.js';
import { listKind, listText, splitList } from '../pg/guc-list.js';
import { quoteLiteral } from '../pg/quote.js';
import { parseValue, shown, toMilliseconds } from '../pg/units.js';
import { formatDuration } from '../policy/duration.js';
import type { Finding } from './findings.js';

/**
 * Settings that would stop pgharden — or the DBA repairing things by hand — from working once
 * they are in force for every new session of the database (issue 16, item 8).
 *
 * What pgharden's own sessions already protect themselves from (src/pg/session-options.ts and
 * client.ts): they start with their own statement_timeout, lock_timeout, idle_in_transaction_session_timeout,
 * idle_session_timeout, transaction_timeout and default_transaction_read_only = off, which outrank
 * database and role values. What they cannot protect anyone else from is said here, so `plan`
 * shows it before anything is changed.
 */
export function toolSafetyFindings(state: DatabaseState, targets: Record<string, string>): Finding[] {
  return [...readOnlyFindings(state, targets), ...searchPathFindings(targets), ...shortTimeoutFindings(state, targets)];
}

function readOnlyFindings(state: DatabaseState, targets: Record<string, string>): Finding[] {
  const findings: Finding[] = [];
  // transaction_read_only itself is reset from default_transaction_read_only by every transaction: see noEffectFinding.
  for (const name of ['default_transaction_read_only']) {
    const meta = state.settings.get(name);
    const parsed = meta && targets[name] !== undefined ? parseValue(meta, targets[name]) : null;
    if (!parsed?.ok || parsed.canonical !== 'on') continue;
    findings.push({
      severity: 'advisory',
      code: 'read-only-sessions',
      setting: name,
      message:
        `${name} = on makes every new session of ${state.database.name} read-only: every INSERT, UPDATE, DDL and ALTER fails with SQLSTATE 25006 ` +
        `("cannot execute … in a read-only transaction") — applications, migrations and a DBA's psql alike. pgharden's own sessions turn it off for themselves so that they can still record, verify and roll back; nothing else does.`,
      fix: `if a read-only database is not the goal, remove settings.${name}; otherwise writers must run SET default_transaction_read_only = off (or BEGIN READ WRITE)`,
    });
  }
  return findings;
}

/**
 * pg_catalog is searched first unless search_path names it: then the schemas listed before it
 * are searched first, and an object there (a table `pg_settings`, a function `now()`) is what
 * every session — pgharden's catalog reads included — resolves instead of the built-in one.
 */
function searchPathFindings(targets: Record<string, string>): Finding[] {
  if (targets.search_path === undefined) return [];
  const path = splitList(listKind('search_path')!, targets.search_path) ?? [];
  const at = path.indexOf('pg_catalog');
  const before = at < 0 ? [] : path.slice(0, at);
  if (!before.length) return [];
  return [
    {
      severity: 'advisory',
      code: 'search-path-shadows-catalog',
      setting: 'search_path',
      message:
        `search_path lists ${before.slice(0, 5).map(shown).join(', ')}${before.length > 5 ? ` and ${before.length - 5} more` : ''} before pg_catalog: objects there take precedence over built-in tables, functions and operators ` +
        `for every session, including pgharden's own reads of pg_settings and pg_stat_activity (whoever can create objects there can change what they return).`,
      fix: `put pg_catalog first, or leave it out (it is then searched first implicitly): search_path: ${shown(listText(['pg_catalog', ...path.filter((s) => s !== 'pg_catalog')]).text)}`,
    },
  ];
}

/**
 * Below these, a timeout for the connecting role cuts short the work a DBA does by hand in
 * psql with the same role (inspecting pg_stat_activity, a manual rollback, a VACUUM).
 */
const SHORT: Record<string, number> = {
  statement_timeout: 1000,
  lock_timeout: 1000,
  idle_session_timeout: 60_000,
  transaction_timeout: 60_000,
};

function shortTimeoutFindings(state: DatabaseState, targets: Record<string, string>): Finding[] {
  const me = state.me.user;
  const findings: Finding[] = [];
  for (const [name, floor] of Object.entries(SHORT)) {
    const meta = state.settings.get(name);
    if (!meta || targets[name] === undefined) continue;
    // A role-level value outranks the database-level one: then the policy does not reach this role.
    if (state.roleSettings.some((r) => r.role === me && r.name === name)) continue;
    const parsed = parseValue(meta, targets[name]);
    const ms = parsed.ok ? toMilliseconds(meta, parsed.canonical) : null;
    if (!ms || ms <= 0 || ms >= floor) continue;
    findings.push({
      severity: 'advisory',
      code: 'short-timeout-for-own-role',
      setting: name,
      roles: [me],
      message:
        `${name} = ${formatDuration(ms)} also applies to ${me}, the role pgharden connects as. pgharden's own sessions set their own ${name}, ` +
        `but psql and other tools run as ${me} — what a DBA uses to look into an incident or roll back by hand — would be cut off after ${formatDuration(ms)}.`,
      fix:
        `raise it where it is needed, for one session: SET ${name} = ${quoteLiteral(name.startsWith('idle') || name === 'transaction_timeout' ? '0' : '5min')}; ` +
        `(a role-level value, ALTER ROLE … SET, would also work but exempts the role from the hardening, which verify then reports)`,
    });
  }
  return findings;
}
