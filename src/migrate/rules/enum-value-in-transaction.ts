import { nodesOf } from '../ast.js';
import { at, type Finding, type Rule } from '../lint-types.js';
import type { Statement } from '../sql-file.js';
import { transactionEffect } from '../transactional.js';

const typeKey = (names: any[] | undefined) => (names ?? []).map((n) => n.String?.sval ?? '').join('.');

/** The text of a DO block's body, or null. */
const doBody = (stmt: Statement): string | null =>
  stmt.type === 'DoStmt' ? ((stmt.node.args ?? []).find((a: any) => a.DefElem?.defname === 'as')?.DefElem.arg?.String?.sval ?? null) : null;

/** Whether `stmt` names `label` as a string constant (a cast, an INSERT, a comparison, a DO block's text). */
function uses(stmt: Statement, label: string): boolean {
  if (nodesOf(stmt.node, 'A_Const').some((c) => c?.sval?.sval === label)) return true;
  const body = doBody(stmt);
  return body !== null && body.includes(`'${label.replaceAll("'", "''")}'`);
}

/**
 * `ALTER TYPE t ADD VALUE 'v'` and a use of 'v' inside the same BEGIN … COMMIT of the file.
 * PostgreSQL refuses to use a new enum value before the transaction that added it commits
 * (SQLSTATE 55P04); from PostgreSQL 17 on, not when the type itself was created in that
 * transaction (15 refuses that too: test/rules/enum-value-in-transaction.test.ts). psql -f fails at the
 * use; `pgharden migrate` honours the file's own BEGIN … COMMIT (one transaction, all or nothing)
 * and so cannot split it either. Without BEGIN/COMMIT, psql commits each statement and the runner
 * commits after the ADD VALUE: nothing to report.
 */
/** The major from which a value added to a type created in the same transaction may be used in it. */
const CREATED_TYPE_EXEMPT_SINCE = 17;

export const enumValueInTransaction: Rule = {
  name: 'enum-value-in-transaction',
  severity: 'error',
  summary: 'ALTER TYPE … ADD VALUE and a use of the new value inside the same BEGIN … COMMIT (SQLSTATE 55P04)',
  check(file, ctx) {
    const createdExempt = ctx.catalog.major >= CREATED_TYPE_EXEMPT_SINCE;
    const findings: Finding[] = [];
    let begin: Statement | null = null;
    let created = new Set<string>();
    let added: { label: string; type: string; stmt: Statement }[] = [];
    for (const stmt of file.statements) {
      const effect = transactionEffect(stmt);
      if (effect) {
        begin = effect === 'begin' ? stmt : null;
        created = new Set();
        added = [];
        continue;
      }
      if (!begin) continue;
      if (stmt.type === 'CreateEnumStmt' && createdExempt) created.add(typeKey(stmt.node.typeName));
      if (stmt.type === 'AlterEnumStmt' && !stmt.node.oldVal && stmt.node.newVal && !created.has(typeKey(stmt.node.typeName))) {
        added.push({ label: stmt.node.newVal, type: typeKey(stmt.node.typeName), stmt });
        continue;
      }
      for (const a of added.filter((x) => uses(stmt, x.label))) {
        findings.push(
          at(
            stmt,
            `this uses '${a.label}', which ALTER TYPE ${a.type} ADD VALUE on line ${a.stmt.line} adds inside the same transaction (the file's BEGIN on line ${begin.line}): PostgreSQL refuses a new enum value before that transaction commits (SQLSTATE 55P04, unsafe use of new value), so psql -f fails here and pgharden migrate refuses the file`,
            {
              fix: `COMMIT after the ADD VALUE and use '${a.label}' in a new transaction, or drop the file's BEGIN/COMMIT (pgharden migrate then commits after the ADD VALUE itself; psql commits each statement), or move the use into the next migration`,
            },
          ),
        );
      }
    }
    return findings;
  },
};
