import { at, type Rule } from '../lint-types.js';
import { persistentChanges } from '../persistent-changes.js';

export const rollbackIncomplete: Rule = {
  name: 'rollback-incomplete',
  severity: 'error',
  summary: 'a forward ALTER DATABASE|ROLE … SET p (or CONNECTION LIMIT) that the rollback file never sets or resets',
  check(file, ctx) {
    if (file.kind !== 'forward' || !file.rollback) return [];
    const undone = new Set(persistentChanges(file.rollback).map((c) => c.key));
    // A change that cannot happen (a misspelt name, a postmaster parameter) has its own finding;
    // "add RESET statment_timeout to the rollback" would only copy the mistake.
    const canHappen = (name: string) => {
      const context = ctx.catalog.contextOf(name);
      if (!context) return name.includes('.') || name === 'role' || name === 'session_authorization';
      return !['postmaster', 'sighup', 'internal'].includes(context);
    };
    return persistentChanges(file)
      .filter((c) => !undone.has(c.key) && (!c.setting || canHappen(c.setting.name)))
      .map((c) =>
        at(c.stmt, `${file.rollback!.path} does not undo this: ${c.label} would stay as this migration left it`, {
          fix: c.setting
            ? `add to the rollback: ALTER ${c.setting.scope === 'role' ? 'ROLE …' : 'DATABASE ${database}'} RESET ${c.setting.name}; (or SET it to the value captured before)`
            : 'add to the rollback: ALTER DATABASE ${database} CONNECTION LIMIT <the limit before>; (-1 = no limit)',
        }),
      );
  },
};
