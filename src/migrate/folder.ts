import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';

export const DEFAULT_DIR = 'migration/migrations';

/** `009_security_hardening.sql` and its `009_security_hardening_rollback.sql`. */
const FILE_NAME = /^(\d+)_([A-Za-z0-9_]+?)(_rollback)?\.sql$/;

export interface MigrationFile {
  /** As given relative to the working directory, for messages and annotations. */
  path: string;
  text: string;
  /** sha256 of the file's bytes, hex. */
  checksum: string;
}

export interface Migration {
  version: number;
  /** The number as written (`009`), kept for file names and messages. */
  id: string;
  name: string;
  forward: MigrationFile;
  rollback: MigrationFile | null;
}

export const label = (m: Pick<Migration, 'id' | 'name'>) => `${m.id}_${m.name}`;

export async function readMigrationFile(file: string): Promise<MigrationFile> {
  const bytes = await fs.readFile(file);
  return { path: file, text: bytes.toString('utf8'), checksum: createHash('sha256').update(bytes).digest('hex') };
}

/** `NNN_name[_rollback].sql` → its parts, or null for any other name. */
export function parseFileName(base: string): { id: string; name: string; rollback: boolean } | null {
  const m = FILE_NAME.exec(base);
  return m ? { id: m[1], name: m[2], rollback: Boolean(m[3]) } : null;
}

/**
 * The folder's migrations in order. Refuses (nothing run) a missing folder, two files
 * with one number, a rollback without its forward file, and gaps between the first and last number.
 */
export async function readMigrations(dir: string): Promise<{ migrations: Migration[]; ignored: string[] }> {
  let names: string[];
  try {
    names = (await fs.readdir(dir)).filter((n) => n.endsWith('.sql')).sort();
  } catch (err) {
    throw new UsageError(`cannot read the migrations folder ${dir}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : (err as Error).message} (--dir)`);
  }
  const byVersion = new Map<number, { id: string; name: string; forward?: string; rollback?: string }>();
  const ignored: string[] = [];
  for (const base of names) {
    const parts = parseFileName(base);
    if (!parts) {
      ignored.push(base);
      continue;
    }
    const version = Number(parts.id);
    const entry = byVersion.get(version) ?? { id: parts.id, name: parts.name };
    const slot = parts.rollback ? 'rollback' : 'forward';
    if (entry[slot] || entry.name !== parts.name || entry.id !== parts.id) {
      const other = entry.forward ?? entry.rollback;
      throw new UsageError(`two migrations numbered ${parts.id} in ${dir}: ${other} and ${base}; renumber one of them`);
    }
    entry[slot] = base;
    byVersion.set(version, entry);
  }
  const versions = [...byVersion.keys()].sort((a, b) => a - b);
  const missing: number[] = [];
  for (let v = versions[0]; v < versions.at(-1)!; v++) if (!byVersion.has(v)) missing.push(v);
  if (missing.length) throw new UsageError(`migration numbers are missing in ${dir}: ${missing.join(', ')}; number migrations without gaps`);

  const migrations: Migration[] = [];
  for (const version of versions) {
    const e = byVersion.get(version)!;
    if (!e.forward) throw new UsageError(`${path.join(dir, e.rollback!)} has no forward file ${e.id}_${e.name}.sql`);
    migrations.push({
      version, id: e.id, name: e.name,
      forward: await readMigrationFile(path.join(dir, e.forward)),
      rollback: e.rollback ? await readMigrationFile(path.join(dir, e.rollback)) : null,
    });
  }
  return { migrations, ignored };
}
