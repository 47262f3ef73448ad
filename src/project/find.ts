import fs from 'node:fs';
import path from 'node:path';

/** The project file's name, looked for in the current directory and each parent. */
export const PROJECT_FILE = 'pgharden.yaml';

/**
 * `pgharden.yaml` in `start` or the nearest parent that has one (like .editorconfig, eslint, git),
 * else null. Cheap on purpose: it runs before every command, and the YAML and zod code that reads
 * the file is imported only when there is one.
 */
export function findProjectFile(start: string = process.cwd()): string | null {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    const file = path.join(dir, PROJECT_FILE);
    if (fs.existsSync(file)) return file;
    if (path.dirname(dir) === dir) return null;
  }
}
