import { CheckFailedError } from '../errors.js';
import type { Migration } from './folder.js';
import type { AppliedMigration } from './history.js';

export interface Changed {
  version: number;
  file: string;
  applied: string;
  now: string;
}

/** Applied migrations whose forward file no longer has the checksum recorded when it ran. */
export function changedSinceApplied(migrations: Migration[], history: Map<number, AppliedMigration>): Changed[] {
  return migrations.flatMap((m) => {
    const h = history.get(m.version);
    // A partially applied file is expected to be edited (made re-runnable) before `up` runs it again.
    if (h?.partialStatements != null) return [];
    // Recorded before checksums ignored CRLF and BOM: the raw bytes' checksum still matches.
    return h && h.checksum !== m.forward.checksum && h.checksum !== m.forward.rawChecksum
      ? [{ version: m.version, file: m.forward.path, applied: h.checksum, now: m.forward.checksum }]
      : [];
  });
}

/** Like Flyway's validate: an applied file that was edited means the folder no longer describes the database. */
export function refuseChanged(migrations: Migration[], history: Map<number, AppliedMigration>, allowChanged: boolean): Changed[] {
  const changed = changedSinceApplied(migrations, history);
  if (changed.length && !allowChanged) {
    const list = changed.map((c) => `  ${c.file}: sha256 ${c.now.slice(0, 12)}…, applied as ${c.applied.slice(0, 12)}…`).join('\n');
    throw new CheckFailedError(
      `applied migration(s) changed since they ran; nothing was changed:\n${list}\n` +
        'restore the applied version, or write a new migration for the change (--allow-changed to proceed anyway)',
    ).withDetails({ changed });
  }
  return changed;
}
