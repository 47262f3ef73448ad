import { quoteIdent, quoteLiteral } from '../pg/quote.js';
import { PSQL_DBNAME } from '../migrate/placeholder.js';
import type { Policy } from '../policy/schema.js';
import { planSql, type Plan } from './plan.js';
import type { OperationRecord } from './operations.js';

export interface RenderedMigration {
  forward: string;
  rollback: string;
}

/** A name no database has: rendered as `"…"` by the operations, then replaced by psql's `:"DBNAME"`. */
const STAND_IN = 'pgharden render database 5f0c';

/**
 * The statements with psql's `:"DBNAME"` where the database's name goes: `psql -f` fills it in
 * with the database it is connected to, and `pgharden migrate` with the target's quoted name.
 */
function withDbname(sql: string): string {
  return sql.split(quoteIdent(STAND_IN)).join(PSQL_DBNAME);
}

/**
 * The forward file's first statement: refuse (and change nothing) when the database no longer
 * holds the values the rollback restores. They were captured when rendering; applied to another
 * database, or after someone changed a value, the rollback would put back the wrong ones (RESET a
 * work_mem = 64MB that was there). Runs under psql and under pgharden migrate (current_database()).
 */
function priorValuesGuard(records: OperationRecord[]): string[] {
  const values = records.filter((r) => r.kind !== 'connection_limit');
  const limit = records.find((r) => r.kind === 'connection_limit');
  if (!values.length && !limit) return [];
  const rows = values.map(
    (r) => `(${quoteLiteral(r.role ?? '')}, ${quoteLiteral(r.name)}, ${r.before === null ? 'NULL' : quoteLiteral(r.before)})`,
  );
  const lines = [
    '-- Refuse unless the database still holds the values captured when this pair was rendered: the',
    '-- rollback restores exactly those (render again for another database or after a change).',
    'DO $pgharden$',
    'DECLARE',
    '  drift text;',
    'BEGIN',
  ];
  if (values.length) {
    lines.push(
      "  SELECT string_agg(format('%s%s is %s, captured %s', e.name, CASE WHEN e.role <> '' THEN ' for role ' || e.role ELSE '' END,",
      "                           coalesce(quote_literal(now.value), 'not set'), coalesce(quote_literal(e.before), 'not set')), '; ')",
      '    INTO drift',
      `    FROM (VALUES ${rows.join(',\n                 ')}) AS e(role, name, before)`,
      '    LEFT JOIN LATERAL (',
      '      SELECT substr(cfg, length(e.name) + 2) AS value',
      '        FROM pg_catalog.pg_db_role_setting s, unnest(s.setconfig) AS cfg',
      '       WHERE s.setdatabase = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())',
      "         AND s.setrole = CASE WHEN e.role = '' THEN 0 ELSE (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = e.role) END",
      "         AND starts_with(cfg, e.name || '=')",
      '    ) AS now ON true',
      '   WHERE now.value IS DISTINCT FROM e.before;',
    );
  }
  if (limit) {
    lines.push(
      `  SELECT nullif(concat_ws('; ', drift, CASE WHEN datconnlimit <> ${Number(limit.before)} THEN 'CONNECTION LIMIT is ' || datconnlimit || ', captured ${Number(limit.before)}' END), '')`,
      '    INTO drift',
      '    FROM pg_catalog.pg_database WHERE datname = current_database();',
    );
  }
  lines.push(
    '  IF drift IS NOT NULL THEN',
    "    RAISE EXCEPTION 'database %: the values before this migration are not those its rollback restores: %', current_database(), drift",
    "      USING HINT = 'the rollback was rendered from another state; run pgharden render again on this database';",
    '  END IF;',
    'END',
    '$pgharden$;',
  );
  return lines;
}

/**
 * The plan as psql-ready files. The rollback restores the values captured when rendering (RESET
 * only where nothing was set), and the forward file refuses to run where those are no longer the
 * values before it. No timestamps and no database name, so the same state and policy render the same bytes.
 */
export function renderMigration(plan: Plan, policy: Policy, name: string): RenderedMigration {
  const { forward, rollback, records } = planSql({ ...plan, database: STAND_IN });
  const captured = records.map(
    (r) =>
      `--   ${r.role === undefined ? '' : `role ${r.role}: `}${r.name}: ${r.before === null ? '(not set at database level)' : r.before}`,
  );
  const head = (file: string, what: string, runner: string) => [
    `-- ${file}: ${what}`,
    `-- Rendered by \`pgharden render\` from policy ${policy.source}. Do not edit: render again.`,
    `-- Apply with: psql -v ON_ERROR_STOP=1 -d <database> -f ${file}   (or pgharden migrate ${runner})`,
    '-- :"DBNAME" is the database psql is connected to (-d; psql sets it itself); pgharden migrate fills it in too.',
    '-- ALTER DATABASE ... SET takes effect for NEW sessions only; check with `pgharden verify`.',
  ];
  const body = (statements: string[]) => ['BEGIN;', "SET LOCAL lock_timeout = '5s';", ...statements.map(withDbname), 'COMMIT;'];
  return {
    forward: [
      ...head(`${name}.sql`, 'security hardening (runbook TICKET-010)', 'up'),
      '',
      ...body([...priorValuesGuard(records), ...forward]),
      '',
    ].join('\n'),
    rollback: [
      ...head(`${name}_rollback.sql`, 'restore the values captured before the hardening', 'down'),
      '-- Captured values (the forward file refuses to run unless these are still the values before it):',
      ...captured,
      '',
      ...body(rollback),
      '',
    ].join('\n'),
  };
}
