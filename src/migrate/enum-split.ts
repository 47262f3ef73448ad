import type { Statement } from './sql-file.js';

const typeKey = (names: any[] | undefined) => (names ?? []).map((n) => n.String?.sval ?? '').join('.');

/**
 * Indexes of `ALTER TYPE … ADD VALUE` statements after which the migration's transaction must
 * commit. A value added to an existing enum cannot be used in the transaction that added it
 * (SQLSTATE 55P04 "unsafe use of new value"), which `psql -f` never hits because each statement
 * commits on its own. An enum created earlier in the same file is exempt (PostgreSQL allows it),
 * and so is an ADD VALUE that nothing follows.
 */
export function enumCommitPoints(statements: Statement[]): number[] {
  const created = new Set<string>();
  const points: number[] = [];
  statements.forEach((s, i) => {
    if (s.type === 'CreateEnumStmt') created.add(typeKey(s.node.typeName));
    if (s.type === 'AlterEnumStmt' && !s.node.oldVal && !created.has(typeKey(s.node.typeName)) && i < statements.length - 1) points.push(i);
  });
  return points;
}
