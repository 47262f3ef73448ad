import { constText, funcName, nodesOf } from '../ast.js';
import { at, type Finding, type Rule } from '../lint-types.js';
import { settingChange } from '../settings.js';
import type { Statement } from '../sql-file.js';

/** The PL/pgSQL source of a DO block (its body is a string the SQL parser does not look into). */
const doBody = (stmt: Statement): string | null =>
  stmt.type === 'DoStmt' ? ((stmt.node.args ?? []).find((a: any) => a.DefElem?.defname === 'as')?.DefElem.arg?.String?.sval ?? null) : null;

/** In PL/pgSQL text: current_setting('x') read back, and SET x / set_config('x', …, false) for the session. */
const BODY_READ = /current_setting\s*\(\s*'([A-Za-z0-9_.]+)'/gi;
const BODY_SET =
  /(?:^|[;\s])SET\s+(?:SESSION\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*(?:=|\bTO\b)|set_config\s*\(\s*'([A-Za-z0-9_.]+)'\s*,[^)]*,\s*false\s*\)/gi;

/** Parameters a statement reads back: current_setting('x'), SHOW x, or pg_settings … 'x' — also inside a DO block. */
function parametersRead(stmt: Statement): string[] {
  if (stmt.type === 'VariableShowStmt') return [String(stmt.node.name).toLowerCase()];
  const body = doBody(stmt);
  if (body !== null) return [...body.matchAll(BODY_READ)].map((m) => m[1].toLowerCase());
  const read = nodesOf(stmt.node, 'FuncCall')
    .filter((call) => funcName(call) === 'current_setting')
    .map((call) => constText(call.args?.[0]));
  if (nodesOf(stmt.node, 'RangeVar').some((r) => r.relname === 'pg_settings')) {
    read.push(...nodesOf(stmt.node, 'A_Const').map((c) => constText({ A_Const: c })));
  }
  return read.filter((p): p is string => Boolean(p)).map((p) => p.toLowerCase());
}

export const sessionSetProvesNothing: Rule = {
  name: 'session-set-proves-nothing',
  severity: 'warning',
  summary: "a plain SET followed by a check of the same parameter: the check reads only the migration's own session",
  check(file) {
    const findings: Finding[] = [];
    const setAt = new Map<string, number>();
    for (const stmt of file.statements) {
      for (const name of parametersRead(stmt)) {
        const line = setAt.get(name);
        if (line === undefined) continue;
        findings.push(
          at(
            stmt,
            `this check of ${name} reads the value SET on line ${line} in the migration's own session; it proves nothing about the sessions of the application`,
            {
              fix: `set it where new sessions pick it up (ALTER DATABASE \${database} SET ${name} = …) and check from a fresh connection (pgharden verify)`,
            },
          ),
        );
        setAt.delete(name); // one warning per SET
      }
      const change = settingChange(stmt);
      if (change?.scope === 'session') setAt.set(change.name, stmt.line);
      // A DO block that SETs then checks within itself proves just as little.
      const body = doBody(stmt);
      if (body !== null) {
        for (const m of body.matchAll(BODY_SET)) {
          const name = (m[1] ?? m[2]).toLowerCase();
          const setOffset = m.index ?? 0;
          const readAfter = [...body.matchAll(BODY_READ)].some((r) => r[1].toLowerCase() === name && (r.index ?? 0) > setOffset);
          if (readAfter) {
            findings.push(
              at(
                stmt,
                `this DO block SETs ${name} and then checks it in the migration's own session; it proves nothing about the sessions of the application`,
                {
                  fix: `set it where new sessions pick it up (ALTER DATABASE \${database} SET ${name} = …) and check from a fresh connection (pgharden verify)`,
                },
              ),
            );
          } else {
            setAt.set(name, stmt.line);
          }
        }
      }
    }
    return findings;
  },
};
