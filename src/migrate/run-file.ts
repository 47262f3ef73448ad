import { ExitCode, PghardenError } from '../errors.js';
import { inTransaction, type Client } from '../pg/client.js';
import { describePgFailure, pgFailure, type PgFailure } from './pg-error.js';
import { parseSql, type Statement } from './sql-file.js';
import { enumCommitPoints } from './enum-split.js';
import { nonTransactionalReason, transactionEffect } from './transactional.js';

/** How one migration file will run. */
export interface FilePlan {
  /** True: one transaction of ours, history row included. False: statement by statement, each committing. */
  transactional: boolean;
  /** Why it runs outside a transaction, e.g. `CREATE INDEX CONCURRENTLY (line 3)`; null when transactional. */
  reason: string | null;
  statements: Statement[];
  /**
   * Transactional files only: indexes of statements after which our transaction commits and a new
   * one begins (after `ALTER TYPE … ADD VALUE`, so the new value can be used). Empty: one transaction.
   */
  commitAfter: number[];
}

/** A transactional plan, split after ADD VALUE where needed. */
const transactionalPlan = (statements: Statement[]): FilePlan => ({
  transactional: true,
  reason: null,
  statements,
  commitAfter: enumCommitPoints(statements),
});

/**
 * Decide by parsing. A file wrapped in its own BEGIN … COMMIT runs inside ours with the two
 * stripped (never nested); a file with statements that cannot run in a transaction, or that
 * manages transactions in any other way, runs statement by statement as psql would.
 */
export async function planFile(path: string, sql: string): Promise<FilePlan> {
  const parsed = await parseSql(sql);
  if (!parsed.ok) throw new PghardenError(`${path}:${parsed.position.line}:${parsed.position.col}: ${parsed.error}`, ExitCode.blocked);
  const statements = parsed.statements;
  const outside = statements
    .map((s) => ({ s, what: nonTransactionalReason(s) }))
    .filter((x) => x.what)
    .map((x) => `${x.what} (line ${x.s.line})`);
  if (outside.length)
    return { transactional: false, reason: `${outside.join(', ')} cannot run inside a transaction`, statements, commitAfter: [] };

  const control = statements.filter((s) => s.type === 'TransactionStmt');
  if (!control.length) return transactionalPlan(statements);
  const [first, last] = [statements[0], statements.at(-1)!];
  const wrapped =
    control.length === 2 &&
    control[0] === first &&
    control[1] === last &&
    transactionEffect(first) === 'begin' &&
    last.node.kind === 'TRANS_STMT_COMMIT';
  // The file asked for one transaction: honour it (all or nothing), never split after ADD VALUE
  // (the enum-value-in-transaction rule refuses a file that would need that).
  if (wrapped) return { transactional: true, reason: null, statements: statements.slice(1, -1), commitAfter: [] };
  return { transactional: false, reason: `the file manages its own transactions (line ${control[0].line})`, statements, commitAfter: [] };
}

/** A statement of a migration file failed: where, and PostgreSQL's own message, DETAIL, HINT and CONTEXT. */
export class MigrationFailedError extends PghardenError {
  /** Statements of the file that stayed committed (0 when its transaction rolled everything back). */
  get committedStatements(): number {
    return this.transactional ? 0 : this.statementIndex;
  }
  constructor(
    readonly path: string,
    readonly failure: PgFailure,
    readonly statementIndex: number,
    readonly transactional: boolean,
  ) {
    const [first, ...rest] = describePgFailure(failure).split('\n');
    const undone = transactional
      ? 'rolled back: nothing of this migration was applied'
      : `the statements before it were committed (it ran outside a transaction)${statementIndex > 0 ? `: statements 1–${statementIndex} committed` : ''}; fix and re-run, writing the rest so it can run again`;
    super([`${path}:${failure.line}:${failure.col}: ${first}; ${undone}`, ...rest.map((l) => `  ${l}`)].join('\n'), ExitCode.refused);
    this.details = { file: path, ...failure, transactional, committedStatements: transactional ? 0 : statementIndex };
  }
}

/** Run the planned statements; `record` writes the history row (inside our last transaction when there is one). */
export async function runFile(client: Client, path: string, plan: FilePlan, record: () => Promise<void>): Promise<void> {
  const run = async (stmt: Statement, index: number, committed: number) => {
    try {
      await client.query(stmt.sql);
    } catch (err) {
      if (!plan.transactional) await client.query('ROLLBACK').catch(() => undefined); // in case the file's own BEGIN is open
      throw new MigrationFailedError(
        path,
        pgFailure(stmt, err),
        plan.transactional ? committed : index,
        plan.transactional && committed === 0,
      );
    }
  };
  if (!plan.transactional) {
    for (const [i, stmt] of plan.statements.entries()) await run(stmt, i, i);
    await record();
    return;
  }
  // Segments end after each commit point; the history row goes in the last one.
  const ends = [...plan.commitAfter.map((i) => i + 1), plan.statements.length];
  let from = 0;
  for (const [n, end] of ends.entries()) {
    await inTransaction(client, async () => {
      for (let i = from; i < end; i++) await run(plan.statements[i], i, from);
      if (n === ends.length - 1) await record();
    });
    from = end;
  }
}
