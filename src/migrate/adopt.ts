import { acquireChangeLock, releaseChangeLock } from '../apply/lock.js';
import { UsageError } from '../errors.js';
import { inTransaction, type Client } from '../pg/client.js';
import type { StageContext } from '../stage.js';
import { label, readMigrations, warnAboutFolder } from './folder.js';
import { ensureHistory, readHistory, recordApplied } from './history.js';
import { placeholderValues } from './placeholder.js';
import { migrationPlan } from './runner.js';
import { recordedSettings } from './settings.js';
import { ensureJournal, journal } from './journal.js';
import { changedSinceApplied } from './validate.js';

export interface AdoptResult {
  ok: true;
  database: string;
  action: 'baseline' | 'repair';
  /** The migrations whose history row was written (baseline) or whose checksum was accepted (repair). */
  versions: { version: number; migration: string; oldChecksum: string | null; newChecksum: string }[];
}

async function underLock<T>(ctx: StageContext, client: Client, fn: () => Promise<T>): Promise<T> {
  await acquireChangeLock(client, 60_000, () => ctx.log.info('waiting for another pgharden changing this database…'));
  try {
    return await fn();
  } finally {
    await releaseChangeLock(client);
  }
}

/**
 * `migrate baseline --to N`: adopt a database migrated by other means (psql -f) up to N. Each
 * migration up to N not yet in the history is recorded as applied without running it, with a
 * journal entry; later ones stay pending.
 */
export async function baseline(ctx: StageContext, client: Client, dir: string, to: number, reason: string): Promise<AdoptResult> {
  const folder = await readMigrations(dir);
  warnAboutFolder(ctx.log, dir, folder);
  if (!folder.migrations.some((m) => m.version === to)) throw new UsageError(`--to ${to}: no migration numbered ${to} in ${dir}`);
  return underLock(ctx, client, async () => {
    await ensureHistory(client);
    await ensureJournal(client);
    const history = await readHistory(client);
    const above = [...history.keys()].filter((v) => v > to);
    if (above.length)
      throw new UsageError(
        `migration(s) ${above.join(', ')} above ${to} are already applied: a baseline adopts a database only up to where it is`,
      );
    const chosen = folder.migrations.filter((m) => m.version <= to && !history.has(m.version));
    await inTransaction(client, async () => {
      for (const m of chosen) {
        // The settings the file changed (it ran under psql): for `pgharden status`; unknown when a ${name} has no value here.
        const settings = await migrationPlan(m, 'up', ctx.target.database, placeholderValues()).then(
          (p) => recordedSettings(p.statements),
          () => null,
        );
        await recordApplied(client, {
          version: m.version,
          name: m.name,
          checksum: m.forward.checksum,
          durationMs: 0,
          transactional: false,
          settings,
        });
        await journal(client, { action: 'baseline', version: m.version, oldChecksum: null, newChecksum: m.forward.checksum, reason });
      }
    });
    for (const m of chosen) ctx.log.info(`baseline: ${label(m)} recorded as applied (not run)`);
    return {
      ok: true,
      database: ctx.target.database,
      action: 'baseline',
      versions: chosen.map((m) => ({ version: m.version, migration: label(m), oldChecksum: null, newChecksum: m.forward.checksum })),
    };
  });
}

/**
 * `migrate repair`: accept the current checksum of applied files that were edited on purpose
 * (a comment, a typo in a rollback hint), each with a journal entry saying who and why.
 */
export async function repair(ctx: StageContext, client: Client, dir: string, reason: string): Promise<AdoptResult> {
  const folder = await readMigrations(dir);
  warnAboutFolder(ctx.log, dir, folder);
  return underLock(ctx, client, async () => {
    const history = await readHistory(client);
    const changed = changedSinceApplied(folder.migrations, history);
    if (changed.length) await ensureJournal(client);
    await inTransaction(client, async () => {
      for (const c of changed) {
        await client.query('UPDATE pgharden.schema_migrations SET checksum = $2 WHERE version = $1', [c.version, c.now]);
        await journal(client, { action: 'repair', version: c.version, oldChecksum: c.applied, newChecksum: c.now, reason });
      }
    });
    for (const c of changed) ctx.log.info(`repair: ${c.file}: checksum ${c.now.slice(0, 12)}… accepted (was ${c.applied.slice(0, 12)}…)`);
    if (!changed.length) ctx.log.info('repair: no applied migration changed; nothing to accept');
    const byVersion = new Map(folder.migrations.map((m) => [m.version, m]));
    return {
      ok: true,
      database: ctx.target.database,
      action: 'repair',
      versions: changed.map((c) => ({
        version: c.version,
        migration: label(byVersion.get(c.version)!),
        oldChecksum: c.applied,
        newChecksum: c.now,
      })),
    };
  });
}
