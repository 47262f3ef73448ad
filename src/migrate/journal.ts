import type { Client } from '../pg/client.js';

/**
 * Changes made to the history by hand-run commands (`baseline`, `repair`): who, when, why, and
 * the checksums before and after, so an accepted edit of an applied file is never silent.
 */
const DDL = `
CREATE TABLE IF NOT EXISTS pgharden.schema_migrations_journal (
  id           bigserial PRIMARY KEY,
  at           timestamptz NOT NULL DEFAULT now(),
  by           text NOT NULL DEFAULT current_user,
  action       text NOT NULL CHECK (action IN ('baseline', 'repair')),
  version      bigint NOT NULL,
  old_checksum text,
  new_checksum text NOT NULL,
  reason       text NOT NULL
);
COMMENT ON TABLE pgharden.schema_migrations_journal IS 'pgharden migrate baseline/repair: history rows written or changed without running the file';`;

export async function ensureJournal(client: Client): Promise<void> {
  await client.query(DDL);
}

export interface JournalEntry {
  action: 'baseline' | 'repair';
  version: number;
  oldChecksum: string | null;
  newChecksum: string;
  reason: string;
}

export async function journal(client: Client, e: JournalEntry): Promise<void> {
  await client.query(
    `INSERT INTO pgharden.schema_migrations_journal (action, version, old_checksum, new_checksum, reason) VALUES ($1, $2, $3, $4, $5)`,
    [e.action, e.version, e.oldChecksum, e.newChecksum, e.reason],
  );
}
