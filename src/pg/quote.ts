import './preload.js';
import pg from 'pg';

/** `"name"` with embedded quotes doubled: safe for any database or role name. */
export const quoteIdent = (name: string): string => pg.escapeIdentifier(name);

/** A SQL string literal (E'...' when it holds backslashes). */
export const quoteLiteral = (value: string): string => pg.escapeLiteral(value).trim();

/**
 * A configuration parameter name as ALTER ... SET expects it. Built-in names are
 * plain identifiers; custom ones (`myapp.flag`) are dotted, each part quoted if needed.
 */
export function quoteParamName(name: string): string {
  return name
    .split('.')
    .map((part) => (/^[a-z_][a-z0-9_]*$/.test(part) ? part : quoteIdent(part)))
    .join('.');
}
