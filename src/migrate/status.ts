import type { Client } from '../pg/client.js';
import { label, readMigrations } from './folder.js';
import { readHistory } from './history.js';
import { changedSinceApplied } from './validate.js';

export interface StatusRow {
  version: number;
  migration: string;
  /** applied; pending; changed (applied, file edited since); missing (applied, no file in the folder). */
  state: 'applied' | 'pending' | 'changed' | 'missing';
  hasRollback: boolean;
  appliedAt: string | null;
  appliedBy: string | null;
  durationMs: number | null;
  transactional: boolean | null;
}

export interface MigrateStatus {
  ok: boolean;
  database: string;
  dir: string;
  rows: StatusRow[];
  pending: number;
  changed: number;
}

/** The folder against pgharden.schema_migrations. Not ok when an applied file changed or disappeared. */
export async function migrateStatus(client: Client, database: string, dir: string): Promise<MigrateStatus> {
  const { migrations } = await readMigrations(dir);
  const history = await readHistory(client);
  const changed = new Set(changedSinceApplied(migrations, history).map((c) => c.version));
  const rows: StatusRow[] = migrations.map((m) => {
    const h = history.get(m.version);
    return {
      version: m.version, migration: label(m), hasRollback: m.rollback !== null,
      state: !h ? 'pending' : changed.has(m.version) ? 'changed' : 'applied',
      appliedAt: h?.appliedAt ?? null, appliedBy: h?.appliedBy ?? null, durationMs: h?.durationMs ?? null, transactional: h?.transactional ?? null,
    };
  });
  const inFolder = new Set(migrations.map((m) => m.version));
  for (const h of history.values()) {
    if (inFolder.has(h.version)) continue;
    rows.push({
      version: h.version, migration: `${h.version}_${h.name}`, hasRollback: false, state: 'missing',
      appliedAt: h.appliedAt, appliedBy: h.appliedBy, durationMs: h.durationMs, transactional: h.transactional,
    });
  }
  rows.sort((a, b) => a.version - b.version);
  const drifted = rows.filter((r) => r.state === 'changed' || r.state === 'missing').length;
  return { ok: drifted === 0, database, dir, rows, pending: rows.filter((r) => r.state === 'pending').length, changed: drifted };
}
