import fs from 'node:fs/promises';
import path from 'node:path';
import { tempDir } from './helpers.js';

/** A migrations folder in a temp directory with these files. */
export async function migrationsFolder(files: Record<string, string>): Promise<string> {
  const dir = path.join(await tempDir('pgharden-migrations-'), 'migrations');
  await fs.mkdir(dir);
  for (const [name, text] of Object.entries(files)) await fs.writeFile(path.join(dir, name), text);
  return dir;
}

/** Three pairs that build on each other, all using the ${database} placeholder. */
export const THREE_PAIRS = {
  '001_create_notes.sql': "CREATE TABLE notes (id int PRIMARY KEY, body text);\nINSERT INTO notes VALUES (1, 'first');\n",
  '001_create_notes_rollback.sql': 'DROP TABLE notes;\n',
  '002_harden.sql':
    "BEGIN;\nSET LOCAL lock_timeout = '5s';\nALTER DATABASE ${database} SET statement_timeout = '30s';\nALTER DATABASE ${database} CONNECTION LIMIT 20;\nCOMMIT;\n",
  '002_harden_rollback.sql':
    'BEGIN;\nALTER DATABASE ${database} RESET statement_timeout;\nALTER DATABASE ${database} CONNECTION LIMIT -1;\nCOMMIT;\n',
  '003_note_author.sql': "SET lock_timeout = '5s';\nALTER TABLE notes ADD COLUMN author text;\n",
  '003_note_author_rollback.sql': "SET lock_timeout = '5s';\nALTER TABLE notes DROP COLUMN author;\n",
};
