import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export const RUNS_DIR = '.pgharden/runs';

/**
 * Run files hold prior settings, baselines and reports: owner-only, whatever the umask
 * (mode 0600 files in 0700 directories). `mkdir`'s and `writeFile`'s modes apply only to
 * what they create, so existing folders and files from older versions are tightened too.
 */
export const PRIVATE_DIR = 0o700;
export const PRIVATE_FILE = 0o600;

/** Create `dir` (and its missing parents up to and including `root`'s folder) owner-only. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: PRIVATE_DIR });
  await fs.chmod(dir, PRIVATE_DIR);
}

/**
 * `20261125-201642-123-3fa2c81d8e4b09a1c2d7`: sortable by time (to the millisecond, fixed width),
 * path-safe, and unique across processes and machines: 80 random bits of a v4 UUID, so even a
 * fleet starting a million runs in one millisecond collides with odds below 1 in 10^12.
 */
export function newRunId(now = new Date()): string {
  const iso = now.toISOString(); // 2026-11-25T20:16:42.123Z
  const stamp = `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${iso.slice(20, 23)}`;
  const uuid = randomUUID(); // xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx: the first and last groups are all random
  return `${stamp}-${uuid.slice(0, 8)}${uuid.slice(24)}`;
}

/** `.pgharden/runs/<run-id>/`: the same backup and baseline as the state schema, as JSON files. */
export class RunDir {
  readonly dir: string;
  constructor(
    readonly runId: string,
    root = RUNS_DIR,
  ) {
    this.dir = path.resolve(root, runId);
  }

  /** The run folder and `.pgharden/runs` above it, owner-only. */
  private async ensureDir(): Promise<void> {
    const runsRoot = path.dirname(this.dir);
    // `.pgharden` itself, when we create it: others may pass through but not list it. Not
    // 0700, because the embedded server (run as the `postgres` OS user when we are root)
    // must reach `.pgharden/embedded/`; that folder's modes are the embedded server's business.
    await fs.mkdir(path.dirname(runsRoot), { recursive: true, mode: 0o711 });
    await ensurePrivateDir(runsRoot);
    await ensurePrivateDir(this.dir);
  }

  async write(name: string, data: unknown): Promise<string> {
    await this.ensureDir();
    const file = path.join(this.dir, name);
    const text = typeof data === 'string' ? data : JSON.stringify(data, null, 2) + '\n';
    // Write then rename, so a crash never leaves a half-written backup; the temp file is
    // created 0600 (a leftover from a crash is rewritten, so chmod it too).
    await fs.writeFile(file + '.tmp', text, { mode: PRIVATE_FILE });
    await fs.chmod(file + '.tmp', PRIVATE_FILE);
    await fs.rename(file + '.tmp', file);
    return file;
  }

  async append(name: string, record: unknown): Promise<void> {
    await this.ensureDir();
    const file = path.join(this.dir, name);
    await fs.appendFile(file, JSON.stringify(record) + '\n', { mode: PRIVATE_FILE });
    await fs.chmod(file, PRIVATE_FILE);
  }

  async read<T>(name: string): Promise<T | null> {
    const text = await fs.readFile(path.join(this.dir, name), 'utf8').catch(() => null);
    return text === null ? null : (JSON.parse(text) as T);
  }
}
