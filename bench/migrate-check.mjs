/**
 * Wall time of `pgharden migrate check` on a generated folder of 25 migration pairs that build a
 * realistic schema (tables, enums, indexes, views, PL/pgSQL functions and triggers, new columns,
 * constraints, database settings), every rollback complete. Goal: ≤ 10 s on the embedded server.
 *
 *   node bench/migrate-check.mjs                 # embedded server (.pgharden/embedded)
 *   node bench/migrate-check.mjs --shadow URL    # a server of yours (a shadow database is created and dropped there)
 *
 * Prints the command's wall time (process start to exit, the embedded server's start and stop included) and the time it
 * reports for the check itself. Needs a built dist/.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const COUNT = 25;

/** Pair i of the folder: odd-ish mixes so every kind of object goes through a round trip. */
function pair(i) {
  const t = `t${i}`;
  switch (i % 5) {
    case 1:
      return [
        `CREATE TYPE ${t}_state AS ENUM ('new', 'done');\nCREATE TABLE ${t} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, state ${t}_state NOT NULL DEFAULT 'new', created_at timestamptz NOT NULL DEFAULT now());\nCREATE INDEX ${t}_state ON ${t} (state);\n`,
        `DROP TABLE ${t};\nDROP TYPE ${t}_state;\n`,
      ];
    case 2:
      return [
        `ALTER TABLE t${i - 1} ADD COLUMN note text;\nALTER TABLE t${i - 1} ADD CONSTRAINT t${i - 1}_note_len CHECK (length(note) < 200);\n`,
        `ALTER TABLE t${i - 1} DROP CONSTRAINT t${i - 1}_note_len;\nALTER TABLE t${i - 1} DROP COLUMN note;\n`,
      ];
    case 3:
      return [
        `CREATE FUNCTION ${t}_touch() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  NEW.created_at := now();\n  RETURN NEW;\nEND $$;\nCREATE TRIGGER ${t}_touch BEFORE UPDATE ON t${i - 2} FOR EACH ROW EXECUTE FUNCTION ${t}_touch();\n`,
        `DROP TRIGGER ${t}_touch ON t${i - 2};\nDROP FUNCTION ${t}_touch();\n`,
      ];
    case 4:
      return [
        `CREATE VIEW ${t}_open AS SELECT id, name FROM t${i - 3} WHERE name <> '';\nCREATE TABLE ${t}_child (id bigserial PRIMARY KEY, parent bigint NOT NULL REFERENCES t${i - 3}, payload jsonb);\nCREATE INDEX ${t}_child_parent ON ${t}_child (parent);\n`,
        `DROP TABLE ${t}_child;\nDROP VIEW ${t}_open;\n`,
      ];
    default:
      return [
        `ALTER DATABASE \${database} SET work_mem = '${8 * i}MB';\nALTER TYPE t${i - 4}_state ADD VALUE IF NOT EXISTS 'archived';\n`,
        // An enum value cannot be dropped: the rollback rebuilds the type without it.
        `ALTER DATABASE \${database} ${i > 5 ? `SET work_mem = '${8 * (i - 5)}MB'` : 'RESET work_mem'};\n` +
          `ALTER TABLE t${i - 4} ALTER COLUMN state DROP DEFAULT;\nALTER TYPE t${i - 4}_state RENAME TO t${i - 4}_state_old;\nCREATE TYPE t${i - 4}_state AS ENUM ('new', 'done');\n` +
          `ALTER TABLE t${i - 4} ALTER COLUMN state TYPE t${i - 4}_state USING state::text::t${i - 4}_state;\nALTER TABLE t${i - 4} ALTER COLUMN state SET DEFAULT 'new';\nDROP TYPE t${i - 4}_state_old;\n`,
      ];
  }
}

export async function generateFolder(count = COUNT) {
  const dir = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'pgharden-bench-check-')), 'migrations');
  await fs.mkdir(dir);
  for (let i = 1; i <= count; i++) {
    const [up, down] = pair(i);
    const id = String(i).padStart(3, '0');
    await fs.writeFile(path.join(dir, `${id}_step${i}.sql`), up);
    await fs.writeFile(path.join(dir, `${id}_step${i}_rollback.sql`), down);
  }
  return dir;
}

const run = (args) =>
  new Promise((resolve) => {
    const started = performance.now();
    execFile(process.execPath, [CLI, ...args], { maxBuffer: 1 << 26 }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr, ms: performance.now() - started });
    });
  });

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const shadowAt = process.argv.indexOf('--shadow');
  const where = shadowAt > 0 ? ['--shadow', process.argv[shadowAt + 1]] : ['--embedded'];
  const dir = await generateFolder();
  // The first run may initialise the embedded server's data directory (initdb, once per project): not what we measure.
  if (where[0] === '--embedded') await run(['migrate', 'check', ...where, '--dir', dir, '--json']);
  const r = await run(['migrate', 'check', ...where, '--dir', dir, '--json']);
  let report = null;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    /* printed below */
  }
  if (r.code !== 0 || !report) {
    process.stderr.write(`migrate check exited ${r.code}\n${r.stderr}\n${r.stdout}\n`);
    process.exit(1);
  }
  console.log(`migrate check: ${COUNT} migrations, ${report.roundTrips} round trips, ${report.findings.length} findings`);
  console.log(
    `wall time ${(r.ms / 1000).toFixed(2)}s (check itself ${(report.durationMs / 1000).toFixed(2)}s) on ${report.server}; goal ≤ 10 s`,
  );
}
