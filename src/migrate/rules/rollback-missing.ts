import type { Rule } from '../lint-types.js';

export const rollbackMissing: Rule = {
  name: 'rollback-missing',
  severity: 'error',
  summary: 'a migration NNN_name.sql without NNN_name_rollback.sql beside it',
  check(file) {
    if (file.kind !== 'forward' || file.rollback !== null) return [];
    const rollbackName = file.path.replace(/\.sql$/, '_rollback.sql');
    return [
      {
        line: 1,
        col: 1,
        message: `no rollback file: if this migration has to be undone there is nothing tested to run`,
        fix: `write ${rollbackName} restoring what this file changes (pgharden render writes one from the values captured now)`,
      },
    ];
  },
};
