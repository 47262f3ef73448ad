import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';
import type { Log } from '../log.js';

export const DEFAULT_DIR = 'migration/migrations';

/** `009_security_hardening.sql` and its `009_security_hardening_rollback.sql`. */
const FILE_NAME = /^(\d+)_([A-Za-z0-9_]+?)(_rollback)?\.sql$/;

export interface MigrationFile {
  /** As given relative to the working directory, for messages and annotations. */
  path: string;
  text: string;
  /**
   * sha256 (hex) of the text with a leading BOM removed and CRLF read as LF: a checkout with
   * `core.autocrlf` or an editor adding a BOM does not make an applied file "changed".
   */
  checksum: string;
  /** sha256 of the file's bytes as they are: what earlier versions recorded. */
  rawChecksum: string;
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

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** The text a checksum is taken of: no BOM, LF line ends. */
export const normalizedText = (text: string) => text.replace(/^\uFEFF/, '').replace(/\r\n/g, '\n');

export async function readMigrationFile(file: string): Promise<MigrationFile> {
  const bytes = await fs.readFile(file);
  // A BOM is not SQL (PostgreSQL's parser would choke on it) and editors do not count it as a column.
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  return { path: file, text, checksum: sha256(normalizedText(text)), rawChecksum: sha256(bytes) };
}

/** `NNN_name[_rollback].sql` → its parts, or null for any other name. */
export function parseFileName(base: string): { id: string; name: string; rollback: boolean } | null {
  const m = FILE_NAME.exec(base);
  return m ? { id: m[1], name: m[2], rollback: Boolean(m[3]) } : null;
}

/** Versions are integers or timestamps (20261126064500): PostgreSQL bigint, exact in a JS number below 2^53. */
export const MAX_VERSION = Number.MAX_SAFE_INTEGER;

/**
 * The folder's migrations in order. Refuses (nothing run) a missing folder, two files
 * with one number, and a rollback without its forward file. Gaps are allowed (two branches
 * each adding a migration), returned in `gaps` for a warning.
 */
export async function readMigrations(dir: string): Promise<{ migrations: Migration[]; ignored: string[]; gaps: number[] }> {
  let names: string[];
  try {
    names = (await fs.readdir(dir)).filter((n) => n.endsWith('.sql')).sort();
  } catch (err) {
    throw new UsageError(
      `cannot read the migrations folder ${dir}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : (err as Error).message} (--dir)`,
    );
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
    if (!Number.isSafeInteger(version))
      throw new UsageError(`${path.join(dir, base)}: version ${parts.id} is too large (at most ${MAX_VERSION})`);
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
  // Timestamp versions are all gaps: only sequential numbering (below 10^6) is worth a warning.
  const gaps: number[] = [];
  if (versions.length && versions.at(-1)! < 1_000_000)
    for (let v = versions[0]; v < versions.at(-1)!; v++) if (!byVersion.has(v)) gaps.push(v);

  const migrations: Migration[] = [];
  for (const version of versions) {
    const e = byVersion.get(version)!;
    if (!e.forward) throw new UsageError(`${path.join(dir, e.rollback!)} has no forward file ${e.id}_${e.name}.sql`);
    migrations.push({
      version,
      id: e.id,
      name: e.name,
      forward: await readMigrationFile(path.join(dir, e.forward)),
      rollback: e.rollback ? await readMigrationFile(path.join(dir, e.rollback)) : null,
    });
  }
  return { migrations, ignored, gaps };
}

/** Say what the folder holds that is not run: files outside the convention, and gaps in the numbering. */
export function warnAboutFolder(log: Log, dir: string, folder: { ignored: string[]; gaps: number[] }): void {
  for (const name of folder.ignored) log.warn(`${dir}/${name} is not named NNN_name.sql: ignored`);
  if (folder.gaps.length) {
    const shown = folder.gaps.slice(0, 10).join(', ') + (folder.gaps.length > 10 ? ` and ${folder.gaps.length - 10} more` : '');
    log.warn(`migration numbers missing in ${dir}: ${shown} (allowed: two branches may each add one; each still runs in number order)`);
  }
}
