import { parse, type Node } from 'libpg-query';

/** One statement of a migration file, with where it starts in the file. */
export interface Statement {
  /** The parse node's type, e.g. `AlterDatabaseSetStmt`. */
  type: string;
  /** The parse node's body (the object under `type`). */
  node: any;
  /** The statement's SQL, without leading comments or the trailing semicolon. */
  sql: string;
  line: number;
  col: number;
}

export interface Position {
  line: number;
  col: number;
}

export type ParsedFile = { ok: true; statements: Statement[] } | { ok: false; error: string; position: Position };

/** Parse SQL with the real PostgreSQL parser; a syntax error says where. */
export async function parseSql(text: string): Promise<ParsedFile> {
  let result: Awaited<ReturnType<typeof parse>>;
  try {
    result = await parse(text);
  } catch (err) {
    const e = err as Error & { sqlDetails?: { cursorPosition?: number } };
    // libpg-query reports the error position as a 0-based character index.
    return { ok: false, error: e.message, position: charPosition(text, e.sqlDetails?.cursorPosition ?? 0) };
  }
  // Statement locations are byte offsets into the UTF-8 text.
  const bytes = Buffer.from(text, 'utf8');
  return {
    ok: true,
    statements: (result.stmts ?? []).map((raw) => {
      const from = raw.stmt_location ?? 0;
      const to = raw.stmt_len ? from + raw.stmt_len : bytes.length;
      const region = bytes.subarray(from, to).toString('utf8');
      const lead = leadingTrivia(region);
      const [type, node] = Object.entries(raw.stmt as Node)[0] as [string, unknown];
      const start = bytes.subarray(0, from).toString('utf8').length + lead;
      return { type, node, sql: region.slice(lead).trim(), ...charPosition(text, start) };
    }),
  };
}

/** 1-based line and column of a character index. */
export function charPosition(text: string, index: number): Position {
  const before = text.slice(0, index);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, col: index - lineStart + 1 };
}

/** Length of the whitespace and comments (`--`, nested `/* *\/`) before a statement. */
function leadingTrivia(s: string): number {
  let i = 0;
  for (;;) {
    while (i < s.length && /\s/.test(s[i])) i++;
    if (s.startsWith('--', i)) {
      const nl = s.indexOf('\n', i);
      i = nl < 0 ? s.length : nl + 1;
    } else if (s.startsWith('/*', i)) {
      let depth = 0;
      do {
        if (s.startsWith('/*', i)) {
          depth++;
          i += 2;
        } else if (s.startsWith('*/', i)) {
          depth--;
          i += 2;
        } else i++;
      } while (depth > 0 && i < s.length);
    } else return i;
  }
}
