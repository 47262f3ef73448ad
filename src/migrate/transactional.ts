import { hasOption } from './ast.js';
import type { Statement } from './sql-file.js';

/**
 * Why `stmt` cannot run inside a transaction block (PostgreSQL's PreventInTransactionBlock),
 * or null when it can. Conservative where the server decides at run time (subscriptions).
 */
export function nonTransactionalReason(stmt: Statement): string | null {
  const n = stmt.node;
  switch (stmt.type) {
    case 'IndexStmt':
      return n.concurrent ? 'CREATE INDEX CONCURRENTLY' : null;
    case 'DropStmt':
      return n.concurrent ? 'DROP INDEX CONCURRENTLY' : null;
    case 'ReindexStmt':
      if (hasOption(n.params, 'concurrently')) return 'REINDEX CONCURRENTLY';
      return n.kind === 'REINDEX_OBJECT_DATABASE' || n.kind === 'REINDEX_OBJECT_SYSTEM' ? 'REINDEX DATABASE/SYSTEM' : null;
    case 'VacuumStmt':
      return n.is_vacuumcmd ? 'VACUUM' : null;
    case 'ClusterStmt':
      return n.relation ? null : 'CLUSTER without a table';
    case 'AlterSystemStmt':
      return 'ALTER SYSTEM';
    case 'CreatedbStmt':
      return 'CREATE DATABASE';
    case 'DropdbStmt':
      return 'DROP DATABASE';
    case 'AlterDatabaseStmt':
      return hasOption(n.options, 'tablespace') ? 'ALTER DATABASE … SET TABLESPACE' : null;
    case 'CreateTableSpaceStmt':
      return 'CREATE TABLESPACE';
    case 'DropTableSpaceStmt':
      return 'DROP TABLESPACE';
    case 'DiscardStmt':
      return n.target === 'DISCARD_ALL' ? 'DISCARD ALL' : null;
    case 'CreateSubscriptionStmt':
      return 'CREATE SUBSCRIPTION';
    case 'DropSubscriptionStmt':
      return 'DROP SUBSCRIPTION';
    case 'TransactionStmt':
      return ['TRANS_STMT_COMMIT_PREPARED', 'TRANS_STMT_ROLLBACK_PREPARED'].includes(n.kind)
        ? `${n.kind.slice(11).replace('_', ' ')}`
        : null;
    case 'AlterTableStmt':
      return (n.cmds ?? []).some(
        (c: any) => c.AlterTableCmd?.subtype === 'AT_DetachPartition' && c.AlterTableCmd.def?.PartitionCmd?.concurrent,
      )
        ? 'ALTER TABLE … DETACH PARTITION CONCURRENTLY'
        : null;
    default:
      return null;
  }
}

/** How a statement moves the session's transaction state: opens, closes, or neither. */
export function transactionEffect(stmt: Statement): 'begin' | 'end' | null {
  if (stmt.type !== 'TransactionStmt') return null;
  const kind: string = stmt.node.kind;
  if (kind === 'TRANS_STMT_BEGIN' || kind === 'TRANS_STMT_START') return 'begin';
  if (kind === 'TRANS_STMT_COMMIT' || kind === 'TRANS_STMT_ROLLBACK' || kind === 'TRANS_STMT_PREPARE') return 'end';
  return null; // SAVEPOINT, RELEASE, ROLLBACK TO and the *_PREPARED commands
}

/** Statements paired with whether an explicit BEGIN of the file is open when each runs. */
export function withTransactionState(statements: Statement[]): { stmt: Statement; inExplicitTransaction: boolean }[] {
  let open = false;
  return statements.map((stmt) => {
    const effect = transactionEffect(stmt);
    const inExplicitTransaction = open && effect !== 'end';
    if (effect) open = effect === 'begin';
    return { stmt, inExplicitTransaction };
  });
}
