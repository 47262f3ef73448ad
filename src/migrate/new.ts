import fs from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { readMigrations } from './folder.js';
import { DATABASE_PLACEHOLDER } from './placeholder.js';

const header = (file: string, what: string) => `-- ${file}: ${what}
-- pgharden migrate runs it in one transaction with lock_timeout and statement_timeout set,
-- unless it holds statements that cannot run in one (then statement by statement).
-- ${DATABASE_PLACEHOLDER} is replaced by the quoted name of the target database.

`;

/** Create the next numbered pair `NNN_name.sql` + `NNN_name_rollback.sql` (the folder is created if needed). */
export async function newMigration(dir: string, name: string): Promise<{ forward: string; rollback: string; version: number }> {
  if (!/^[a-z0-9][a-z0-9_]*$/.test(name) || name.endsWith('_rollback')) {
    throw new UsageError(`migration name "${name}": use lower-case letters, digits and _ (e.g. add_orders_index), not ending in _rollback`);
  }
  await fs.mkdir(dir, { recursive: true });
  const { migrations } = await readMigrations(dir);
  const last = migrations.at(-1);
  const version = (last?.version ?? 0) + 1;
  const id = String(version).padStart(Math.max(3, last?.id.length ?? 0), '0');
  const forward = path.join(dir, `${id}_${name}.sql`);
  const rollback = path.join(dir, `${id}_${name}_rollback.sql`);
  // 'wx': never overwrite a file someone is writing.
  await fs.writeFile(forward, header(`${id}_${name}.sql`, 'describe the change'), { flag: 'wx' });
  await fs.writeFile(rollback, header(`${id}_${name}_rollback.sql`, `undo ${id}_${name}.sql`), { flag: 'wx' });
  return { forward, rollback, version };
}
