import { connect } from '../pg/client.js';
import type { Target } from '../pg/target.js';
import type { Log } from '../log.js';
import { PghardenError, UsageError } from '../errors.js';
import { captureFingerprint, describeDiff, diffFingerprints, isEmptyDiff, type Fingerprint, type FingerprintDiff } from './fingerprint.js';
import { label, readMigrations, warnAboutFolder, type Migration } from './folder.js';
import { ensureHistory } from './history.js';
import type { Diagnostic } from './lint-types.js';
import { describePgFailure, type PgFailure } from './pg-error.js';
import { retargetDatabase } from './retarget.js';
import { rolesNamed } from './roles-named.js';
import { MigrationFailedError, type FilePlan } from './run-file.js';
import { executeMigration, migrationPlan, type MigrateOptions } from './runner.js';
import { ShadowDatabase } from './shadow.js';

/** One problem `migrate check` proved on the shadow database. */
export interface CheckFinding extends Diagnostic {
  migration: string;
  /** PostgreSQL's own words when a statement failed. */
  pg?: PgFailure;
  /** The objects a rollback left behind, lost or changed (or a re-apply made differently). */
  objects?: FingerprintDiff;
}

export interface CheckResult {
  ok: boolean;
  exitCode: number;
  dir: string;
  server: string;
  shadowDatabase: string;
  migrations: number;
  /** Migrations whose round trip (rollback, then re-apply) was proved. */
  roundTrips: number;
  /** Not checked because an earlier migration failed to apply. */
  notChecked: string[];
  findings: CheckFinding[];
  notes: string[];
  durationMs: number;
}

export type CheckOptions = Pick<MigrateOptions, 'dir' | 'lockTimeoutMs' | 'statementTimeoutMs' | 'placeholders'>;

type Direction = 'up' | 'down';

/** Where a file fails to parse: planFile's message starts with `path:line:col: `. */
function syntaxFinding(m: Migration, file: string, err: PghardenError): CheckFinding {
  const at = /^.*?:(\d+):(\d+): ([\s\S]*)$/.exec(err.message);
  return {
    rule: 'syntax-error',
    severity: 'error',
    file,
    line: Number(at?.[1] ?? 1),
    col: Number(at?.[2] ?? 1),
    message: at?.[3] ?? err.message,
    migration: label(m),
  };
}

function failedFinding(m: Migration, rule: string, what: string, err: MigrationFailedError): CheckFinding {
  const f = err.failure;
  return {
    rule,
    severity: 'error',
    file: err.path,
    line: f.line,
    col: f.col,
    migration: label(m),
    pg: f,
    message: `${what}: ${describePgFailure(f)}`,
  };
}

/**
 * `migrate check`: prove the folder on a throwaway database of `server`.
 *
 * 1. Apply every migration from empty, in order, exactly as `migrate up` does (same session
 *    settings, transactions, history rows), fingerprinting the schema after each.
 * 2. From the last migration to the first: run its rollback and compare with the fingerprint
 *    from before it was applied (a difference names what was left behind, lost or changed);
 *    re-apply it and require the fingerprint of the first time; roll it back again and go on.
 *    After a failure the shadow's state is unknown, so it is rebuilt from empty up to the
 *    migration to check next: one bad rollback never shows up as findings on the others.
 */
export async function migrateCheck(log: Log, server: Target, serverLabel: string, opts: CheckOptions): Promise<CheckResult> {
  const started = performance.now();
  const folder = await readMigrations(opts.dir);
  const { migrations } = folder;
  warnAboutFolder(log, opts.dir, folder);
  const findings: CheckFinding[] = [];
  const notes: string[] = [];
  const admin = await connect(server, { onError: () => undefined });
  const shadow = new ShadowDatabase(admin, server);
  log.info(`migrate check: shadow database ${shadow.name} on ${serverLabel} (dropped at the end)`);

  // Plans for the shadow's name, with hand-written database names pointed at the shadow.
  const plans = new Map<string, FilePlan | null>();
  const plan = async (m: Migration, d: Direction): Promise<FilePlan | null> => {
    const key = `${m.version}/${d}`;
    if (plans.has(key)) return plans.get(key)!;
    const file = d === 'up' ? m.forward : m.rollback!;
    let p: FilePlan | null = null;
    try {
      p = await migrationPlan(m, d, shadow.name, opts.placeholders);
      const retargeted = new Map<string, number[]>();
      p = {
        ...p,
        statements: p.statements.map((s) => {
          const r = retargetDatabase(s, shadow.quoted, shadow.name);
          if (r.from) retargeted.set(r.from, [...(retargeted.get(r.from) ?? []), s.line]);
          return r.stmt;
        }),
      };
      for (const [db, lines] of retargeted) {
        notes.push(
          `${file.path} names database "${db}" (line${lines.length > 1 ? 's' : ''} ${lines.join(', ')}): checked on the shadow database instead; write \${database}`,
        );
      }
    } catch (err) {
      if (!(err instanceof PghardenError) || err instanceof UsageError) throw err; // a missing --set value is bad usage, not a finding
      findings.push(syntaxFinding(m, file.path, err));
    }
    plans.set(key, p);
    return p;
  };
  const allStatements = [];
  for (const m of migrations)
    for (const d of ['up', 'down'] as const) if (d === 'up' || m.rollback) allStatements.push(...((await plan(m, d))?.statements ?? []));
  const roles = rolesNamed(allStatements);

  const run = async (m: Migration, d: Direction): Promise<void> => {
    await executeMigration(shadow.client!, m, d, (await plan(m, d))!, opts);
  };
  const fingerprint = () => captureFingerprint(shadow.client!, roles);

  const before: Fingerprint[] = []; // before[i]: after the first i migrations
  let applied = 0;
  let roundTrips = 0;
  try {
    await ensureHistory(await shadow.fresh());
    before.push(await fingerprint());
    for (const m of migrations) {
      if (!(await plan(m, 'up'))) break;
      try {
        await run(m, 'up');
      } catch (err) {
        if (!(err instanceof MigrationFailedError)) throw err;
        findings.push(failedFinding(m, 'apply-failed', 'applying it on the schema the earlier migrations built failed', err));
        break;
      }
      before.push(await fingerprint());
      applied++;
    }

    /** The shadow is at before[state]; -1 when unknown. */
    let state = applied;
    const rebuild = async (k: number) => {
      await ensureHistory(await shadow.fresh());
      for (const m of migrations.slice(0, k)) await run(m, 'up');
      state = k;
    };

    for (let k = applied; k >= 1; k--) {
      const m = migrations[k - 1];
      const name = label(m);
      if (!m.rollback) {
        findings.push({
          rule: 'rollback-missing',
          severity: 'error',
          file: m.forward.path,
          line: 1,
          col: 1,
          migration: name,
          message: `no rollback file: ${name}_rollback.sql does not exist, so this migration cannot be undone`,
        });
        continue;
      }
      const down = await plan(m, 'down');
      if (!down) continue;
      if (state !== k) await rebuild(k);
      try {
        await run(m, 'down');
      } catch (err) {
        if (!(err instanceof MigrationFailedError)) throw err;
        findings.push(failedFinding(m, 'rollback-failed', 'the rollback failed on the schema this migration built', err));
        state = -1;
        continue;
      }
      const diff = diffFingerprints(before[k - 1], await fingerprint());
      const forwardDoesSomething = ((await plan(m, 'up'))?.statements.length ?? 0) > 0;
      if (!down.statements.length && forwardDoesSomething) {
        findings.push({
          rule: 'rollback-empty',
          severity: 'error',
          file: m.rollback.path,
          line: 1,
          col: 1,
          migration: name,
          objects: diff,
          message: `the rollback has no statements (only comments): it rolls back nothing${isEmptyDiff(diff) ? '' : `; ${describeDiff(diff)}`}`,
        });
        state = k;
        continue;
      }
      if (!isEmptyDiff(diff)) {
        findings.push({
          rule: 'rollback-incomplete',
          severity: 'error',
          file: m.rollback.path,
          line: 1,
          col: 1,
          migration: name,
          objects: diff,
          message: `after the rollback the schema is not what it was before ${name}: ${describeDiff(diff)}`,
        });
        state = -1;
        continue;
      }
      try {
        await run(m, 'up');
      } catch (err) {
        if (!(err instanceof MigrationFailedError)) throw err;
        findings.push(failedFinding(m, 'reapply-failed', 'after its rollback, applying it again failed', err));
        state = -1;
        continue;
      }
      const again = diffFingerprints(before[k], await fingerprint());
      if (!isEmptyDiff(again)) {
        findings.push({
          rule: 'reapply-differs',
          severity: 'error',
          file: m.forward.path,
          line: 1,
          col: 1,
          migration: name,
          objects: again,
          message: `applied again after its rollback, it builds a different schema than the first time: ${describeDiff(again)}`,
        });
        state = -1;
        continue;
      }
      roundTrips++;
      await run(m, 'down'); // proved above to return to before[k - 1]
      state = k - 1;
    }
  } finally {
    await shadow
      .drop()
      .catch((err) => log.warn(`could not drop the shadow database ${shadow.name}: ${(err as Error).message}; drop it by hand`));
    await admin.end().catch(() => undefined);
  }
  findings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
  return {
    ok: findings.length === 0,
    exitCode: findings.length ? 1 : 0,
    dir: opts.dir,
    server: serverLabel,
    shadowDatabase: shadow.name,
    migrations: migrations.length,
    roundTrips,
    notChecked: migrations.slice(applied + 1).map(label),
    findings,
    notes,
    durationMs: Math.round(performance.now() - started),
  };
}
