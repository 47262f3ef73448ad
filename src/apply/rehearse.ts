import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs/promises';
import { withClient, type Client } from '../pg/client.js';
import { readDatabaseState } from '../pg/catalog.js';
import { quoteIdent } from '../pg/quote.js';
import { withDatabase } from '../pg/target.js';
import { connectionLimitSql, setSql } from '../plan/operations.js';
import type { StageContext } from '../stage.js';
import { silentLog } from '../log.js';
import { apply } from './apply.js';
import { rollback, type RestoreCheck } from './rollback.js';

export interface Rehearsal {
  ok: boolean;
  skipped?: string;
  scratchDatabase: string;
  applied: number;
  check: RestoreCheck | null;
  ms: number;
}

/**
 * The runbook's "test rollback procedures", done for real before touching the target: a
 * scratch database on the same server gets the target's current database-level values,
 * then the policy is applied and rolled back there, and the restore is compared exactly.
 */
export async function rehearseRollback(ctx: StageContext, client: Client): Promise<Rehearsal> {
  const started = performance.now();
  const scratch = `pgharden_rehearsal_${randomBytes(4).toString('hex')}`;
  const source = await readDatabaseState(client, ctx.target.database);
  const result = (r: Omit<Rehearsal, 'ms' | 'scratchDatabase'>): Rehearsal => ({
    ...r,
    scratchDatabase: scratch,
    ms: performance.now() - started,
  });
  try {
    await client.query(`CREATE DATABASE ${quoteIdent(scratch)}`);
  } catch (err) {
    return result({ ok: false, skipped: `cannot create a scratch database: ${(err as Error).message}`, applied: 0, check: null });
  }
  const runsRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'pgharden-rehearsal-'));
  try {
    for (const s of source.dbSettings) await client.query(setSql(scratch, s.name, s.value));
    // Roles' own values in the target database too, so role_set/role_reset are rehearsed from the same state.
    for (const r of source.roleSettings)
      if (r.scope === 'in-database' && r.role) await client.query(setSql(scratch, r.name, r.value, r.role));
    await client.query(connectionLimitSql(scratch, source.database.connLimit));
    const scratchCtx: StageContext = { ...ctx, target: withDatabase(ctx.target, scratch), log: silentLog, runsRoot };
    return await withClient(scratchCtx.target, async (c) => {
      const applied = await apply(scratchCtx, c, { lockWaitMs: 10_000 });
      const rolled = await rollback(scratchCtx, c, { lockWaitMs: 10_000 });
      return result({ ok: rolled.ok && (rolled.check?.ok ?? true), applied: applied.steps.length, check: rolled.check });
    });
  } catch (err) {
    return result({ ok: false, applied: 0, check: { ok: false, differences: [(err as Error).message] } });
  } finally {
    // Never silently: a scratch database left behind is listed by `pgharden doctor`.
    await client
      .query(`DROP DATABASE IF EXISTS ${quoteIdent(scratch)} WITH (FORCE)`)
      .catch((err) =>
        ctx.log.warn(
          `could not drop the rehearsal database ${scratch} (${(err as Error).message}); remove it with: DROP DATABASE ${quoteIdent(scratch)} WITH (FORCE); (or pgharden doctor --fix)`,
        ),
      );
    await fs.rm(runsRoot, { recursive: true, force: true });
  }
}
