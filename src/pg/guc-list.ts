import { QUOTED_KEYWORDS } from './keywords.js';
import { quoteLiteral } from './quote.js';

/**
 * List-valued parameters (GUC_LIST_INPUT | GUC_LIST_QUOTE in guc_tables.c).
 *
 * For these, `SET p = 'a, b'` is ONE element: the server runs quote_identifier() on each
 * element it is given (flatten_set_variable_args) and stores `"a, b"`, a schema named "a, b".
 * A list must be written as separate elements: `SET search_path = 'app', 'public'`, which the
 * server stores as the text `app, public`. Which parameters these are was checked on
 * PostgreSQL 15 and 18 by giving every string parameter two elements (ALTER DATABASE … SET
 * p = 'Ab c', 'pg_default') and reading back pg_db_role_setting; pg_settings does not expose
 * the flag. List parameters without GUC_LIST_QUOTE (DateStyle, wal_consistency_checking,
 * plpgsql.extra_warnings, …) store a single literal verbatim, so they need nothing special.
 *
 * 'identifiers' lists are read by SplitIdentifierString (unquoted names are lower-cased),
 * 'paths' lists by SplitDirectoriesString (case and inner spaces kept).
 */
const LIST_QUOTE: Record<string, 'identifiers' | 'paths'> = {
  search_path: 'identifiers',
  temp_tablespaces: 'identifiers',
  session_preload_libraries: 'paths',
  local_preload_libraries: 'paths',
  shared_preload_libraries: 'paths',
  unix_socket_directories: 'paths',
  oauth_validator_libraries: 'paths',
  // Debian's PostgreSQL 15 has it (superuser context); upstream does not.
  output_plugin_libraries: 'paths',
};

export type ListKind = 'identifiers' | 'paths';

export function listKind(name: string): ListKind | null {
  return Object.hasOwn(LIST_QUOTE, name.toLowerCase()) ? LIST_QUOTE[name.toLowerCase()] : null;
}

const isSpace = (c: string | undefined) => c !== undefined && /[ \t\n\r\f\v]/.test(c);

/**
 * The elements of a list value as the server reads it; null when the server would reject the
 * syntax ("List syntax is invalid"). `asWritten` keeps unquoted names' case: used to check
 * whether a stored text is in the server's own form.
 */
export function splitList(kind: ListKind, text: string, opts: { asWritten?: boolean } = {}): string[] | null {
  const out: string[] = [];
  let i = 0;
  const skipSpace = () => {
    while (isSpace(text[i])) i++;
  };
  skipSpace();
  if (i === text.length) return out; // an empty list is allowed
  for (;;) {
    let element = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        const end = text.indexOf('"', i);
        if (end < 0) return null; // unterminated quoted name
        element += text.slice(i, end);
        i = end + 1;
        if (text[i] !== '"') break;
        element += '"'; // "" inside quotes is one quote
        i++;
      }
    } else {
      const start = i;
      if (kind === 'identifiers') {
        while (i < text.length && text[i] !== ',' && !isSpace(text[i])) i++;
        element = text.slice(start, i);
        // downcase_identifier(): ASCII letters only
        if (!opts.asWritten) element = element.replace(/[A-Z]/g, (c) => c.toLowerCase());
      } else {
        while (i < text.length && text[i] !== ',') i++;
        element = text.slice(start, i).replace(/[ \t\n\r\f\v]+$/, '');
      }
      if (element === '') return null; // empty unquoted name
    }
    out.push(element);
    skipSpace();
    if (i === text.length) return out;
    if (text[i] !== ',') return null;
    i++;
    skipSpace();
  }
}

/** quote_identifier() as the server applies it to each element; `certain` is false for key words (their category varies by version). */
function quoteElement(element: string): { text: string; certain: boolean } {
  if (/^[a-z_][a-z0-9_]*$/.test(element)) {
    return QUOTED_KEYWORDS.has(element) ? { text: `"${element}"`, certain: false } : { text: element, certain: true };
  }
  return { text: `"${element.replace(/"/g, '""')}"`, certain: true };
}

/** The text the server stores for these elements (`app, "My Schema"`), and whether that is certain. */
export function listText(elements: string[]): { text: string; certain: boolean } {
  const quoted = elements.map(quoteElement);
  return { text: quoted.map((q) => q.text).join(', '), certain: quoted.every((q) => q.certain) };
}

/**
 * The value part of `SET p = …` that makes the server store exactly `stored`, or null when no
 * element list does (an empty list, a text not in the server's own form — e.g. written by
 * `SET … FROM CURRENT` — or a key word whose quoting depends on the version). Each element is
 * a string literal, not an identifier: identifiers are cut at 63 bytes, library paths are not.
 */
export function listValueSql(kind: ListKind, stored: string): string | null {
  const elements = splitList(kind, stored, { asWritten: true });
  if (!elements?.length) return null;
  const canonical = listText(elements);
  if (!canonical.certain || canonical.text !== stored) return null;
  return elements.map(quoteLiteral).join(', ');
}

/** The text the server will store for a value written in postgresql.conf syntax (`app2, Public` → `app2, public`); null if not a valid list. */
export function storedListText(kind: ListKind, value: string): string | null {
  const elements = splitList(kind, value);
  return elements ? listText(elements).text : null;
}
