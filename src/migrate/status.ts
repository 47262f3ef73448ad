import type { Client } from '../pg/client.js';
import { label, readMigrations } from './folder.js';
import { readHistory } from './history.js';
import { changedSinceApplied } from './validate.js';

export interface StatusRow {
  version: number;
  migration: string;
  /** applied; pending; changed (applied, file edited since); missing (applied, no file in the folder). */
  state: 'applied' | 'pending' | 'changed' | 'missing' | 'partial';
  /** partial: the file failed part-way outside one transaction with its first N statements committed; `up` runs it again. */
  partialStatements: number | null;
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
  /** Numbers missing between the first and the last (a warning, not a failure). */
  gaps: number[];
  /** Why the exit code is 1, when it is. */
  problems: string[];
}

/** The folder against pgharden.schema_migrations. Not ok when an applied file changed or disappeared. */
/**
 * Not ok (exit 1) when an applied file changed or disappeared, and — like Flyway's validate and
 * graphile-migrate's status — when migrations are pending, unless `pendingOk`.
 */
export async function migrateStatus(
  client: Client,
  database: string,
  dir: string,
  opts: { pendingOk?: boolean } = {},
): Promise<MigrateStatus> {
  const { migrations, gaps } = await readMigrations(dir);
  const history = await readHistory(client);
  const changed = new Set(changedSinceApplied(migrations, history).map((c) => c.version));
  const rows: StatusRow[] = migrations.map((m) => {
    const h = history.get(m.version);
    return {
      version: m.version,
      migration: label(m),
      hasRollback: m.rollback !== null,
      state: !h ? 'pending' : h.partialStatements != null ? 'partial' : changed.has(m.version) ? 'changed' : 'applied',
      partialStatements: h?.partialStatements ?? null,
      appliedAt: h?.appliedAt ?? null,
      appliedBy: h?.appliedBy ?? null,
      durationMs: h?.durationMs ?? null,
      transactional: h?.transactional ?? null,
    };
  });
  const inFolder = new Set(migrations.map((m) => m.version));
  for (const h of history.values()) {
    if (inFolder.has(h.version)) continue;
    rows.push({
      version: h.version,
      migration: `${h.version}_${h.name}`,
      hasRollback: false,
      state: 'missing',
      partialStatements: h.partialStatements ?? null,
      appliedAt: h.appliedAt,
      appliedBy: h.appliedBy,
      durationMs: h.durationMs,
      transactional: h.transactional,
    });
  }
  rows.sort((a, b) => a.version - b.version);
  const drifted = rows.filter((r) => r.state === 'changed' || r.state === 'missing').length;
  const pending = rows.filter((r) => r.state === 'pending').length;
  const partial = rows.filter((r) => r.state === 'partial');
  const problems = [
    ...partial.map(
      (r) =>
        `${r.migration} is partially applied: statements 1–${r.partialStatements} committed; fix it so it can run again and run migrate up`,
    ),
    ...(drifted ? [`${drifted} applied migration(s) changed or missing since applied`] : []),
    ...(pending && !opts.pendingOk ? [`${pending} migration(s) pending (--pending-ok to accept)`] : []),
  ];
  return { ok: problems.length === 0, database, dir, rows, pending, changed: drifted, gaps, problems };
}
