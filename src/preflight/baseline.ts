import type { Client } from '../pg/client.js';
import type { DatabaseState } from '../pg/catalog.js';
import { probeLatency, type LatencySample } from './latency.js';

/** The "before" picture: everything the runbook says to record before the change. */
export interface Baseline {
  capturedAt: string;
  server: DatabaseState['server'];
  database: DatabaseState['database'];
  /** All of pg_settings with where each value comes from ("backup current postgresql.conf settings"). */
  settings: { name: string; setting: string; unit: string | null; source: string; sourcefile: string | null }[];
  /** pg_file_settings rows, or null when this role may not read them. */
  fileSettings: { sourcefile: string; sourceline: number; name: string; setting: string; applied: boolean; error: string | null }[] | null;
  dbRoleSettings: { dbSettings: DatabaseState['dbSettings']; roleSettings: DatabaseState['roleSettings']; globalSettings: DatabaseState['globalSettings'] };
  connectionsByState: Record<string, number>;
  statDatabase: Record<string, number | string | null>;
  statements: DatabaseState['statements'];
  latency: LatencySample;
}

export async function captureBaseline(client: Client, state: DatabaseState): Promise<Baseline> {
  const fileSettings = await client
    .query(`SELECT sourcefile, sourceline, name, setting, applied, error FROM pg_file_settings ORDER BY seqno`)
    .then((r) => r.rows, () => null);
  // Every column this server version has (sessions_fatal etc. on 14+).
  const stat = await client.query(`SELECT to_jsonb(d) - 'datid' - 'datname' AS row FROM pg_stat_database d WHERE datname = $1`, [
    state.database.name,
  ]);
  const connectionsByState: Record<string, number> = {};
  for (const s of state.sessions) {
    const key = s.state ?? 'unknown';
    connectionsByState[key] = (connectionsByState[key] ?? 0) + 1;
  }
  return {
    capturedAt: state.capturedAt,
    server: state.server,
    database: state.database,
    // Our own session sets a few parameters through its connection options (source "client"):
    // record the server's value there, not ours.
    settings: [...state.settings.values()].map((s) =>
      s.source === 'client'
        ? { name: s.name, setting: state.serverValues[s.name], unit: s.unit, source: 'server (below the tool session\'s own value)', sourcefile: null }
        : { name: s.name, setting: s.setting, unit: s.unit, source: s.source, sourcefile: s.sourcefile }),
    fileSettings,
    dbRoleSettings: { dbSettings: state.dbSettings, roleSettings: state.roleSettings, globalSettings: state.globalSettings },
    connectionsByState,
    statDatabase: stat.rows[0]?.row ?? {},
    statements: state.statements,
    latency: await probeLatency(client),
  };
}
