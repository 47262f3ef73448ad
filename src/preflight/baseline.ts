import type { Client } from '../pg/client.js';
import type { DatabaseState } from '../pg/catalog.js';
import { redactSettingValue, redactSql } from '../redact-sql.js';
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
  dbRoleSettings: {
    dbSettings: DatabaseState['dbSettings'];
    roleSettings: DatabaseState['roleSettings'];
    globalSettings: DatabaseState['globalSettings'];
  };
  connectionsByState: Record<string, number>;
  statDatabase: Record<string, number | string | null>;
  statements: DatabaseState['statements'];
  latency: LatencySample;
}

export async function captureBaseline(client: Client, state: DatabaseState, latencyRuns?: number): Promise<Baseline> {
  const fileSettings = await client
    .query(`SELECT sourcefile, sourceline, name, setting, applied, error FROM pg_file_settings ORDER BY seqno`)
    .then(
      (r) => r.rows.map((f) => ({ ...f, setting: redactSettingValue(f.name, f.setting) })),
      () => null,
    );
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
    // Secret-named values (primary_conninfo holds the replication password) are kept as `…`.
    settings: [...state.settings.values()].map((s) =>
      s.source === 'client'
        ? {
            name: s.name,
            setting: redactSettingValue(s.name, state.serverValues[s.name]),
            unit: s.unit,
            source: "server (below the tool session's own value)",
            sourcefile: null,
          }
        : { name: s.name, setting: redactSettingValue(s.name, s.setting), unit: s.unit, source: s.source, sourcefile: s.sourcefile },
    ),
    fileSettings,
    dbRoleSettings: {
      dbSettings: state.dbSettings.map((s) => ({ ...s, value: redactSettingValue(s.name, s.value) })),
      roleSettings: state.roleSettings.map((s) => ({ ...s, value: redactSettingValue(s.name, s.value) })),
      globalSettings: state.globalSettings.map((s) => ({ ...s, value: redactSettingValue(s.name, s.value) })),
    },
    connectionsByState,
    statDatabase: stat.rows[0]?.row ?? {},
    statements: watchedStatements(state.statements),
    latency: await probeLatency(client, latencyRuns),
  };
}

/**
 * What the triggers need of pg_stat_statements (queryid, calls, times) and a redacted text
 * for people: the baseline is copied to baseline.json, run.json, report.json and the state
 * schema, and a statement text can carry a password (`ALTER ROLE … PASSWORD '…'`).
 * The catalog redacts already; this keeps the baseline safe whatever its source.
 */
function watchedStatements(rows: DatabaseState['statements']): DatabaseState['statements'] {
  return rows?.map(({ queryid, query, calls, meanMs, maxMs }) => ({ queryid, query: redactSql(query), calls, meanMs, maxMs })) ?? null;
}
