import { quoteIdent } from '../pg/quote.js';

/** Written in a migration where the target database's name belongs: `ALTER DATABASE ${database} SET …`. */
export const DATABASE_PLACEHOLDER = '${database}';

/**
 * What the linter parses in place of the placeholder: a quoted identifier of exactly the
 * same length, so every parser offset still points at the right column of the file.
 */
export const PLACEHOLDER_DBNAME = '$database';
const LINT_STAND_IN = quoteIdent(PLACEHOLDER_DBNAME);

/** The file as it will run on `database`: the placeholder becomes its quoted name. */
export function forDatabase(sql: string, database: string): string {
  return sql.replaceAll(DATABASE_PLACEHOLDER, quoteIdent(database));
}

/** The file as the linter parses it (same offsets as the original). */
export function forLint(sql: string): string {
  return sql.replaceAll(DATABASE_PLACEHOLDER, LINT_STAND_IN);
}
