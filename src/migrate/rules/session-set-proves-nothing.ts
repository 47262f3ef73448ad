import { constText, funcName, nodesOf } from '../ast.js';
import { at, type Finding, type Rule } from '../lint-types.js';
import { settingChange } from '../settings.js';
import type { Statement } from '../sql-file.js';

/** Parameters a statement reads back: current_setting('x'), SHOW x, or pg_settings … 'x'. */
function parametersRead(stmt: Statement): string[] {
  if (stmt.type === 'VariableShowStmt') return [String(stmt.node.name).toLowerCase()];
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
        findings.push(at(stmt,
          `this check of ${name} reads the value SET on line ${line} in the migration's own session; it proves nothing about the sessions of the application`,
          { fix: `set it where new sessions pick it up (ALTER DATABASE \${database} SET ${name} = …) and check from a fresh connection (pgharden verify)` }));
        setAt.delete(name); // one warning per SET
      }
      const change = settingChange(stmt);
      if (change?.scope === 'session') setAt.set(change.name, stmt.line);
    }
    return findings;
  },
};
