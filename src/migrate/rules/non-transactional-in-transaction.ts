import { at, type Rule } from '../lint-types.js';
import { nonTransactionalReason, withTransactionState } from '../transactional.js';

export const nonTransactionalInTransaction: Rule = {
  name: 'non-transactional-in-transaction',
  severity: 'error',
  summary:
    'a statement that cannot run inside a transaction block (CREATE INDEX CONCURRENTLY, VACUUM, ALTER SYSTEM, …) between BEGIN and COMMIT',
  check(file) {
    return withTransactionState(file.statements).flatMap(({ stmt, inExplicitTransaction }) => {
      const what = inExplicitTransaction ? nonTransactionalReason(stmt) : null;
      return what
        ? [
            at(
              stmt,
              `${what} cannot run inside a transaction block, and this one is inside the file's BEGIN … COMMIT: PostgreSQL refuses it (SQLSTATE 25001)`,
              {
                fix: `move it after COMMIT (or into a migration of its own without BEGIN/COMMIT); pgharden migrate runs such a file statement by statement`,
              },
            ),
          ]
        : [];
    });
  },
};
