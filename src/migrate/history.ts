import type { Client } from '../pg/client.js';
import { inTransaction } from '../pg/client.js';
import { ensureStateSchema } from '../state/store.js';
import { ADVISORY_LOCKS } from '../pg/advisory-locks.js';

/** Applied migrations, one row each, in the target database (like Flyway's schema history). */
const DDL = `
CREATE TABLE IF NOT EXISTS pgharden.schema_migrations (
  version       bigint PRIMARY KEY,
  name          text NOT NULL,
  checksum      text NOT NULL,
  applied_at    timestamptz NOT NULL DEFAULT now(),
  applied_by    text NOT NULL DEFAULT current_user,
  duration_ms   integer NOT NULL,
  transactional boolean NOT NULL,
  partial_statements integer,
  settings      jsonb
);
COMMENT ON TABLE pgharden.schema_migrations IS 'pgharden migrate: applied migrations and the sha256 of each forward file';`;

/** Serialises creating the table between concurrent pgharden processes (the schema has its own lock). */
const HISTORY_DDL_LOCK = ADVISORY_LOCKS.migrationHistory;

export interface AppliedMigration {
  version: number;
  name: string;
  checksum: string;
  appliedAt: string;
  appliedBy: string;
  durationMs: number;
  transactional: boolean;
  /**
   * Set when the file failed part-way with its first N statements committed (run outside one
   * transaction): the migration is not applied, and `up` runs it again.
   */
  partialStatements?: number | null;
  /** The settings the migration changes beyond its session (ALTER DATABASE|ROLE … SET, CONNECTION LIMIT, ALTER SYSTEM); null for rows written before this was recorded. */
  settings?: MigrationSetting[] | null;
}

/** One setting a migration changed, as `pgharden status` shows it. */
export interface MigrationSetting {
  line: number;
  scope: 'database' | 'role' | 'system';
  /** The database named (ALTER DATABASE d, ALTER ROLE r IN DATABASE d); null for role-wide and system values. */
  database: string | null;
  role: string | null;
  /** The parameter, or `connection_limit`. */
  name: string;
  action: 'set' | 'reset';
  value: string | null;
}

export async function historyExists(client: Client): Promise<boolean> {
  const { rows } = await client.query(`SELECT to_regclass('pgharden.schema_migrations') IS NOT NULL AS ok`);
  return rows[0].ok;
}

export async function ensureHistory(client: Client): Promise<void> {
  if (await historyExists(client)) {
    // Tables made before versions could be timestamps had an integer version.
    const { rows } = await client.query(
      `SELECT format_type(atttypid, NULL) AS t FROM pg_attribute WHERE attrelid = 'pgharden.schema_migrations'::regclass AND attname = 'version'`,
    );
    if (rows[0]?.t === 'integer') await client.query('ALTER TABLE pgharden.schema_migrations ALTER COLUMN version TYPE bigint');
    await client.query(
      'ALTER TABLE pgharden.schema_migrations ADD COLUMN IF NOT EXISTS partial_statements integer, ADD COLUMN IF NOT EXISTS settings jsonb',
    );
    return;
  }
  await ensureStateSchema(client);
  await inTransaction(client, async () => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [HISTORY_DDL_LOCK]);
    await client.query(DDL);
  });
}

/** Applied migrations by version; empty when the table does not exist yet (nothing was ever applied). */
export async function readHistory(client: Client): Promise<Map<number, AppliedMigration>> {
  if (!(await historyExists(client))) return new Map();
  const { rows } = await client.query(
    `SELECT version::text AS version, name, checksum, applied_at AS "appliedAt", applied_by AS "appliedBy",
            duration_ms AS "durationMs", transactional, partial_statements AS "partialStatements", settings
       FROM pgharden.schema_migrations ORDER BY version`,
  );
  // bigint comes back as text: versions are safe integers (folder.ts MAX_VERSION).
  return new Map(
    rows.map((r) => [Number(r.version), { ...r, version: Number(r.version), appliedAt: new Date(r.appliedAt).toISOString() }]),
  );
}

/** Applied (complete); replaces a row that said "partially applied". */
export async function recordApplied(client: Client, m: Omit<AppliedMigration, 'appliedAt' | 'appliedBy'>): Promise<void> {
  await client.query(
    `INSERT INTO pgharden.schema_migrations (version, name, checksum, duration_ms, transactional, partial_statements, settings) VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (version) DO UPDATE SET name = EXCLUDED.name, checksum = EXCLUDED.checksum, applied_at = now(), applied_by = current_user,
       duration_ms = EXCLUDED.duration_ms, transactional = EXCLUDED.transactional, partial_statements = EXCLUDED.partial_statements, settings = EXCLUDED.settings`,
    [
      m.version,
      m.name,
      m.checksum,
      Math.round(m.durationMs),
      m.transactional,
      m.partialStatements ?? null,
      m.settings ? JSON.stringify(m.settings) : null,
    ],
  );
}

export async function recordRolledBack(client: Client, version: number): Promise<void> {
  await client.query(`DELETE FROM pgharden.schema_migrations WHERE version = $1`, [version]);
}
