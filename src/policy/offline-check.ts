import { builtinContexts, DEFAULT_MAJOR } from '../migrate/contexts.js';
import { closest } from '../suggest.js';
import type { Policy } from './schema.js';

/** Contexts a database-level value (ALTER DATABASE … SET) can have. */
const DATABASE_SETTABLE = new Set(['user', 'superuser']);

/**
 * What can be said about a valid-shaped policy without a server: every setting is a built-in
 * parameter of PostgreSQL (the built-in table of `major`; extension parameters, `ext.name`, are
 * left to the server) and one a database may set. Values and units need pg_settings: `--db`.
 */
export function offlineProblems(policy: Policy, major = DEFAULT_MAJOR): string[] {
  const contexts = builtinContexts(major);
  const problems: string[] = [];
  for (const name of Object.keys(policy.settings)) {
    if (name.includes('.')) continue;
    const context = contexts.get(name);
    if (!context) {
      const near = closest(name, contexts.keys());
      problems.push(`settings.${name}: not a PostgreSQL ${major} parameter${near ? ` (did you mean ${near}?)` : ''}`);
    } else if (!DATABASE_SETTABLE.has(context)) {
      problems.push(
        `settings.${name}: context ${context}: a database cannot set it (${name === 'max_connections' ? 'write connection_limit: N instead' : 'postgresql.conf or ALTER SYSTEM'})`,
      );
    }
  }
  return problems;
}
