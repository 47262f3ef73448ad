import type { DatabaseState, RoleSettingRow } from '../pg/catalog.js';
import type { Plan } from '../plan/plan.js';
import { planSql } from '../plan/plan.js';
import type { OperationRecord } from '../plan/operations.js';
import type { Client } from '../pg/client.js';
import type { RunDir } from '../state/run-dir.js';
import { saveBackup } from '../state/store.js';

/** The prior value of everything a run may touch, taken before its first change. */
export interface Backup {
  runId: string;
  database: string;
  capturedAt: string;
  dbSettings: { name: string; value: string }[];
  globalSettings: { name: string; value: string }[];
  roleSettings: RoleSettingRow[];
  connLimit: number;
  /** Parameters the run changes (rollback restores exactly these). */
  touched: string[];
  touchesConnectionLimit: boolean;
  operations: OperationRecord[];
}

export function captureBackup(state: DatabaseState, plan: Plan, runId: string): Backup {
  return {
    runId,
    database: state.database.name,
    capturedAt: state.capturedAt,
    dbSettings: state.dbSettings,
    globalSettings: state.globalSettings,
    roleSettings: state.roleSettings,
    connLimit: state.database.connLimit,
    touched: plan.operations.filter((o) => o.kind === 'set' || o.kind === 'reset').map((o) => o.name),
    touchesConnectionLimit: plan.operations.some((o) => o.kind === 'connection_limit'),
    operations: planSql(plan).records,
  };
}

/** Commit the backup to the state schema and the run directory; both happen before any change. */
export async function writeBackup(client: Client, runDir: RunDir, backup: Backup): Promise<string> {
  await saveBackup(client, backup.runId, backup.capturedAt, backup);
  return runDir.write('backup.json', backup);
}
