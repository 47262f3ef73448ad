import { UsageError } from '../errors.js';
import { quoteIdent } from '../pg/quote.js';

/** Written in a migration where the target database's name belongs: `ALTER DATABASE ${database} SET …`. */
export const DATABASE_PLACEHOLDER = '${database}';

/**
 * psql's own variable for the database it is connected to (`psql -f` fills it in, whatever `-v`
 * says). `pgharden render` writes it, so one file runs under psql and under `migrate` alike;
 * `migrate` treats it exactly as `${database}`.
 */
export const PSQL_DBNAME = ':"DBNAME"';
const PSQL_DBNAME_RE = /:"DBNAME"/g;

/** `${name}`: a placeholder, filled from `--set name=value` or `PGHARDEN_SET_name` (like Flyway's placeholders). */
const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * What the linter parses in place of the placeholder: a quoted identifier of exactly the
 * same length, so every parser offset still points at the right column of the file.
 */
export const PLACEHOLDER_DBNAME = '$database';
const LINT_STAND_IN = quoteIdent(PLACEHOLDER_DBNAME);
/** The same for `:"DBNAME"` (9 characters, like `"$dbname"`). */
export const PSQL_PLACEHOLDER_DBNAME = '$dbname';
const PSQL_LINT_STAND_IN = quoteIdent(PSQL_PLACEHOLDER_DBNAME);

/** A database name the linter parsed in place of `${database}` or `:"DBNAME"`. */
export const isDatabasePlaceholder = (name: string | null | undefined): boolean =>
  name === PLACEHOLDER_DBNAME || name === PSQL_PLACEHOLDER_DBNAME;

/** Values from `PGHARDEN_SET_name` in the environment, then `--set name=value` (the flag wins). */
export function placeholderValues(sets: string[] = [], env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [k, v] of Object.entries(env))
    if (k.startsWith('PGHARDEN_SET_') && v !== undefined) values[k.slice('PGHARDEN_SET_'.length)] = v;
  for (const s of sets) {
    const eq = s.indexOf('=');
    const name = eq > 0 ? s.slice(0, eq) : '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new UsageError(`--set ${s}: write --set name=value (name: letters, digits, _)`);
    if (name === 'database')
      throw new UsageError('--set database=…: ${database} is always the target database (quoted); choose another name');
    values[name] = s.slice(eq + 1);
  }
  return values;
}

/**
 * The file as it will run on `database`: `${database}` becomes its quoted name, every other
 * `${name}` its value. A placeholder without a value is refused (nothing run) rather than sent
 * to the server as text.
 */
export function forDatabase(sql: string, database: string, values: Record<string, string> = {}, file = 'the file'): string {
  const missing = new Set<string>();
  const out = sql.replace(PSQL_DBNAME_RE, quoteIdent(database)).replace(PLACEHOLDER, (whole, name: string) => {
    if (name === 'database') return quoteIdent(database);
    if (name in values) return values[name];
    missing.add(name);
    return whole;
  });
  if (missing.size) {
    const names = [...missing];
    throw new UsageError(
      `${file}: no value for ${names.map((n) => `\${${n}}`).join(', ')}: give ${names.map((n) => `--set ${n}=…`).join(' ')} (or PGHARDEN_SET_${names[0]}=…); nothing was changed`,
    );
  }
  return out;
}

/** The file as the linter parses it (same offsets as the original): other placeholders become identifiers of the same length. */
export function forLint(sql: string): string {
  return sql
    .replace(PSQL_DBNAME_RE, PSQL_LINT_STAND_IN)
    .replace(PLACEHOLDER, (whole, name: string) => (name === 'database' ? LINT_STAND_IN : `_${'x'.repeat(whole.length - 1)}`));
}
