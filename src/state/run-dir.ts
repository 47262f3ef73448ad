import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export const RUNS_DIR = '.pgharden/runs';

/** `20261125-201642-3fa2`: sortable by time, unique enough across operators. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

/** `.pgharden/runs/<run-id>/`: the same backup and baseline as the state schema, as JSON files. */
export class RunDir {
  readonly dir: string;
  constructor(readonly runId: string, root = RUNS_DIR) {
    this.dir = path.resolve(root, runId);
  }

  async write(name: string, data: unknown): Promise<string> {
    await fs.mkdir(this.dir, { recursive: true });
    const file = path.join(this.dir, name);
    const text = typeof data === 'string' ? data : JSON.stringify(data, null, 2) + '\n';
    // Write then rename, so a crash never leaves a half-written backup.
    await fs.writeFile(file + '.tmp', text);
    await fs.rename(file + '.tmp', file);
    return file;
  }

  async append(name: string, record: unknown): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    await fs.appendFile(path.join(this.dir, name), JSON.stringify(record) + '\n');
  }

  async read<T>(name: string): Promise<T | null> {
    const text = await fs.readFile(path.join(this.dir, name), 'utf8').catch(() => null);
    return text === null ? null : (JSON.parse(text) as T);
  }
}
