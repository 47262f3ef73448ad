import { readDatabaseState } from '../pg/catalog.js';
import type { Client } from '../pg/client.js';
import { builtinContexts, DEFAULT_MAJOR, type ParamContext } from './contexts.js';
import { readHistory } from './history.js';
import type { LintCatalog, LintContext } from './lint-types.js';

const catalogOf = (description: string, major: number, contexts: Map<string, ParamContext>): LintCatalog => ({
  description,
  major,
  contextOf: (name) => contexts.get(name.toLowerCase()),
  names: () => [...contexts.keys()],
});

/** Offline: the built-in context table for one PostgreSQL major. */
export function offlineContext(major = DEFAULT_MAJOR): LintContext {
  return { catalog: catalogOf(`built-in table for PostgreSQL ${major}`, major, builtinContexts(major)), target: null };
}

/** Connected: the live pg_settings, who we are, and what the database holds now. */
export async function connectedContext(client: Client, database: string, params: string[]): Promise<LintContext> {
  const state = await readDatabaseState(client, database, params);
  return {
    catalog: catalogOf(
      `live pg_settings, PostgreSQL ${state.server.version}`,
      Math.floor(state.server.versionNum / 10000),
      new Map([...state.settings.values()].map((s) => [s.name.toLowerCase(), s.context as ParamContext])),
    ),
    target: {
      database,
      superuser: state.me.superuser,
      canSet: state.me.canSet,
      databaseValues: new Map(state.dbSettings.map((s) => [s.name, s.value])),
      connectionLimit: state.database.connLimit,
      settings: state.settings,
      applied: new Set((await readHistory(client)).keys()),
    },
  };
}
