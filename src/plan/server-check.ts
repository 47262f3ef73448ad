import type { Client } from '../pg/client.js';
import type { DatabaseState } from '../pg/catalog.js';
import { listKind, splitList } from '../pg/guc-list.js';
import { quoteParamName } from '../pg/quote.js';
import { shown } from '../pg/units.js';
import type { Finding } from './findings.js';
import { operationLabel, valueSql } from './operations.js';
import type { Plan } from './plan.js';

/**
 * Parameters not tried with SET: changing them even inside a rolled-back transaction would
 * change how this session talks to us (client_encoding re-encodes every later message).
 */
const NOT_TRIED = new Set(['client_encoding']);

/** SQLSTATEs that mean "you may not set this", not "this value is wrong". */
const PRIVILEGE = new Set(['42501']);

/**
 * Ask the server whether it accepts each value the plan will write, the way a session will
 * read it: `SET LOCAL name = value` in a transaction that is always rolled back, one savepoint
 * per value. Types, units and ranges of numbers, booleans and enums are already checked from
 * pg_settings; what only the server knows is strings (TimeZone, DateStyle, lc_messages,
 * default_text_search_config …) and custom parameters (a reserved prefix such as `plpgsql.`
 * rejects unknown names). A value the server rejects is a blocking finding, so `apply`
 * stops before it records a run or a backup.
 */
export async function serverValueFindings(client: Client, state: DatabaseState, plan: Plan): Promise<Finding[]> {
  const toTry = plan.operations.filter(
    (op) =>
      (op.kind === 'set' || op.kind === 'role_set') &&
      op.after !== null &&
      !NOT_TRIED.has(op.name) &&
      ['string', 'enum', undefined].includes(state.settings.get(op.name)?.vartype),
  );
  const findings: Finding[] = [];
  if (toTry.length) {
    await client.query('BEGIN');
    try {
      for (const op of toTry) {
        const value = valueSql(op.name, op.after!);
        await client.query('SAVEPOINT pgharden_value_check');
        try {
          if (value !== null) await client.query(`SET LOCAL ${quoteParamName(op.name)} = ${value}`);
          else await client.query('SELECT pg_catalog.set_config($1, $2, true)', [op.name, op.after]);
        } catch (err) {
          const e = err as { code?: string; message?: string; detail?: string };
          if (!PRIVILEGE.has(e.code ?? '')) {
            findings.push({
              severity: 'blocking',
              code: 'invalid-value',
              setting: operationLabel(op),
              message: `the server rejects ${op.name} = ${shown(op.after)}: ${clip(e.message ?? '')}${e.detail ? ` (${clip(e.detail)})` : ''} [SQLSTATE ${e.code}]`,
              fix: fixFor(op.name),
            });
          }
        }
        await client.query('ROLLBACK TO SAVEPOINT pgharden_value_check');
      }
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
    }
  }
  findings.push(...(await missingSchemaFindings(client, plan)));
  return findings;
}

/** The server's message repeats the value: keep it to one readable line. */
const clip = (text: string) => (text.length > 200 ? `${text.slice(0, 200)}…` : text);

function fixFor(name: string): string {
  switch (name) {
    case 'timezone':
      return "use a name from pg_timezone_names (SELECT name FROM pg_timezone_names), e.g. 'UTC' or 'Europe/Paris'";
    case 'datestyle':
      return "an output style and/or an order: 'ISO, MDY', 'ISO, DMY', 'SQL, DMY', 'German' …";
    case 'lc_messages':
    case 'lc_monetary':
    case 'lc_numeric':
    case 'lc_time':
      return "a locale the server's operating system has (locale -a on the server), e.g. 'C' or 'en_US.UTF-8'";
    case 'default_text_search_config':
      return "a configuration from SELECT cfgname FROM pg_ts_config, schema-qualified, e.g. 'pg_catalog.english'";
    default:
      return `correct or remove settings.${name}`;
  }
}

/** search_path names that are not schemas of this database: every session would silently skip them. */
async function missingSchemaFindings(client: Client, plan: Plan): Promise<Finding[]> {
  const op = plan.operations.find((o) => o.kind === 'set' && o.name === 'search_path' && o.after !== null);
  const names = op ? (splitList(listKind('search_path')!, op.after!) ?? []) : [];
  const wanted = names.filter((n) => n !== '$user' && n !== 'pg_temp' && !n.startsWith('pg_temp_'));
  if (!wanted.length) return [];
  const { rows } = await client.query<{ name: string }>(
    'SELECT n AS name FROM unnest($1::text[]) AS n WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = n)',
    [wanted],
  );
  if (!rows.length) return [];
  const missing = rows.map((r) => r.name);
  return [
    {
      severity: 'advisory',
      code: 'search-path-missing-schema',
      setting: 'search_path',
      message: `search_path names ${missing.length === 1 ? 'a schema that does' : 'schemas that do'} not exist in ${plan.database}: ${missing.slice(0, 10).map(shown).join(', ')}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''}; sessions skip ${missing.length === 1 ? 'it' : 'them'} without an error.`,
      fix: `create ${missing.length === 1 ? 'it' : 'them'} first (CREATE SCHEMA …), or check the spelling (unquoted names are lower-cased; write "MySchema" in double quotes to keep capitals)`,
    },
  ];
}
