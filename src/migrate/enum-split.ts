import type { Statement } from './sql-file.js';

/**
 * Indexes of `ALTER TYPE … ADD VALUE` statements after which the migration's transaction must
 * commit. A value added to an existing enum cannot be used in the transaction that added it
 * (SQLSTATE 55P04 "unsafe use of new value"), which `psql -f` never hits because each statement
 * commits on its own. An enum created earlier in the same file is not exempt: PostgreSQL 17+
 * allows using its new values in the creating transaction, but 15 refuses (55P04), and a commit is
 * right on every version. An ADD VALUE that nothing follows needs no commit.
 */
export function enumCommitPoints(statements: Statement[]): number[] {
  const points: number[] = [];
  statements.forEach((s, i) => {
    if (s.type === 'AlterEnumStmt' && !s.node.oldVal && i < statements.length - 1) points.push(i);
  });
  return points;
}
