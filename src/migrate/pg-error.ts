import type { Statement } from './sql-file.js';

/**
 * PostgreSQL's own words for a failed statement. node-postgres keeps DETAIL, HINT and CONTEXT
 * on the error object; printing only `message` drops exactly the parts that say what to do
 * (the dependent objects of a failing DROP, the HINT of 55P04, the PL/pgSQL line).
 */
export interface PgFailure {
  sqlstate: string | null;
  message: string;
  detail: string | null;
  hint: string | null;
  /** CONTEXT, e.g. `PL/pgSQL function inline_code_block line 4 at RAISE`. */
  context: string | null;
  /** Where in the file: the error's own position inside the statement when the server gives one, else the statement's start. */
  line: number;
  col: number;
}

/** 1-based line/column in the file of the 1-based character `position` inside `stmt.sql`. */
export function positionInFile(stmt: Statement, position: number): { line: number; col: number } {
  const before = stmt.sql.slice(0, Math.max(0, position - 1));
  const nl = before.lastIndexOf('\n');
  if (nl < 0) return { line: stmt.line, col: stmt.col + before.length };
  return { line: stmt.line + before.split('\n').length - 1, col: before.length - nl };
}

export function pgFailure(stmt: Statement, err: unknown): PgFailure {
  const e = err as { message?: string; code?: string; detail?: string; hint?: string; where?: string; position?: string };
  const pos = Number(e.position);
  const at = Number.isInteger(pos) && pos > 0 ? positionInFile(stmt, pos) : { line: stmt.line, col: stmt.col };
  return {
    sqlstate: e.code && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : null,
    message: e.message ?? String(err),
    detail: e.detail || null,
    hint: e.hint || null,
    context: e.where || null,
    ...at,
  };
}

/** `message (SQLSTATE x)` then `DETAIL: …`, `HINT: …`, `CONTEXT: …` lines, as psql prints them. */
export function describePgFailure(f: PgFailure): string {
  return [
    `${f.message}${f.sqlstate ? ` (SQLSTATE ${f.sqlstate})` : ''}`,
    ...(f.detail ? [`DETAIL: ${f.detail}`] : []),
    ...(f.hint ? [`HINT: ${f.hint}`] : []),
    ...(f.context ? [`CONTEXT: ${f.context}`] : []),
  ].join('\n');
}
