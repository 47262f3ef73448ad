import { BlockedError } from '../errors.js';
import { acquireChangeLock, releaseChangeLock } from '../apply/lock.js';
import type { Client } from '../pg/client.js';
import type { StageContext } from '../stage.js';
import { connectedContext } from './lint-context.js';
import { RULES } from './rules/index.js';
import type { Severity } from './lint-types.js';
import { humanLines } from './format.js';
import { label, readMigrations, warnAboutFolder, type Migration, type MigrationFile } from './folder.js';
import { ensureHistory, readHistory, recordApplied, recordRolledBack, type AppliedMigration } from './history.js';
import { lintInputs, parametersTouched, parseInputs, runRules, type LintInput, type LintReport } from './lint.js';
import { forDatabase } from './placeholder.js';
import { MigrationFailedError, planFile, runFile, type FilePlan } from './run-file.js';
import { prepareMigrationSession } from './session.js';
import { recordedSettings } from './settings.js';
import { refuseChanged, type Changed } from './validate.js';

export interface MigrateOptions {
  dir: string;
  lockWaitMs: number;
  /** lock_timeout and statement_timeout of the migration session (ms). */
  lockTimeoutMs: number;
  statementTimeoutMs: number;
  dryRun: boolean;
  allowChanged: boolean;
  /** `${name}` values (--set, PGHARDEN_SET_name). */
  placeholders?: Record<string, string>;
  /** The team's lint settings (pgharden.yaml lint.exclude / lint.severity) for the lint run before anything changes. */
  lint?: { exclude: string[]; severity: Record<string, Severity | 'off'> };
}

export interface StepReport {
  version: number;
  migration: string;
  file: string;
  transactional: boolean;
  /** Why it ran outside a transaction. */
  reason: string | null;
  /** How it runs: `in one transaction`, `in 2 transactions: …`, `outside a transaction`. */
  runs: string;
  /** The statements, as they run on this database (shown by --dry-run). */
  statements: string[];
  durationMs: number | null;
}

export interface MigrateResult {
  ok: true;
  direction: 'up' | 'down';
  database: string;
  dryRun: boolean;
  lint: LintReport;
  changed: Changed[];
  steps: StepReport[];
}

type Direction = MigrateResult['direction'];

/** Pending migrations up to `to`, refusing one numbered below a migration already applied. */
function selectUp(migrations: Migration[], history: Map<number, AppliedMigration>, to?: number): Migration[] {
  const highest = Math.max(0, ...[...history.values()].filter((h) => h.partialStatements == null).map((h) => h.version));
  // A partially applied file (failed part-way outside one transaction) runs again: the author fixed it to be re-runnable.
  const pending = migrations.filter((m) => !history.has(m.version) || history.get(m.version)!.partialStatements != null);
  const late = pending.filter((m) => m.version < highest);
  if (late.length) {
    throw new BlockedError(
      `${late.map((m) => m.forward.path).join(', ')} ${late.length > 1 ? 'are' : 'is'} pending but numbered below ${highest}, which is applied; renumber it after ${highest}. Nothing was changed.`,
    );
  }
  return pending.filter((m) => to === undefined || m.version <= to);
}

/** Applied migrations to undo, newest first: down to `to` (exclusive), else the last `steps`. */
function selectDown(migrations: Migration[], history: Map<number, AppliedMigration>, sel: { to?: number; steps?: number }): Migration[] {
  const byVersion = new Map(migrations.map((m) => [m.version, m]));
  const applied = [...history.keys()].sort((a, b) => b - a);
  const chosen = sel.to !== undefined ? applied.filter((v) => v > sel.to!) : applied.slice(0, sel.steps ?? 1);
  return chosen.map((v) => {
    const m = byVersion.get(v);
    if (!m)
      throw new BlockedError(
        `cannot roll back migration ${v} (${history.get(v)!.name}): it is applied but its files are not in the folder. Nothing was changed.`,
      );
    if (!m.rollback) throw new BlockedError(`cannot roll back ${label(m)}: ${label(m)}_rollback.sql does not exist. Nothing was changed.`);
    return m;
  });
}

async function lintBeforeRunning(
  client: Client,
  database: string,
  inputs: LintInput[],
  settings: MigrateOptions['lint'],
): Promise<LintReport> {
  const parsed = await parseInputs(inputs);
  // require-lock-timeout is for files run by psql -f: this runner sets lock_timeout for every migration itself.
  const rules = RULES.filter((r) => r.name !== 'require-lock-timeout' && !settings?.exclude.includes(r.name));
  const report = runRules(parsed, await connectedContext(client, database, parametersTouched(parsed.files)), rules, settings?.severity);
  if (report.errors) {
    const lines = humanLines(report.diagnostics)
      .map((l) => `  ${l}`)
      .join('\n');
    throw new BlockedError(`blocked by lint (${report.errors} error(s)); nothing was changed:\n${lines}`).withDetails({ lint: report });
  }
  return report;
}

/** `in one transaction`, `in 2 transactions (…)`, `outside a transaction`. */
export function howItRuns(plan: FilePlan): string {
  if (!plan.transactional) return 'outside a transaction';
  if (!plan.commitAfter.length) return 'in one transaction';
  const lines = plan.commitAfter.map((i) => plan.statements[i].line).join(', ');
  return `in ${plan.commitAfter.length + 1} transactions: committed after ALTER TYPE … ADD VALUE (line ${lines}) so the new value can be used`;
}

/** How one migration's forward (`up`) or rollback (`down`) file runs on `database`. */
export async function migrationPlan(
  m: Migration,
  direction: Direction,
  database: string,
  placeholders: Record<string, string> = {},
): Promise<FilePlan> {
  const file = direction === 'up' ? m.forward : m.rollback!;
  return planFile(file.path, forDatabase(file.text, database, placeholders, file.path));
}

/**
 * Run one planned migration file exactly as `migrate up|down` does (fresh session settings, one
 * transaction when it can, history row in it); `migrate check` uses this too so it proves the real thing.
 * Returns the duration in ms.
 */
export async function executeMigration(
  client: Client,
  m: Migration,
  direction: Direction,
  plan: FilePlan,
  timeouts: Pick<MigrateOptions, 'lockTimeoutMs' | 'statementTimeoutMs'>,
): Promise<number> {
  const file = direction === 'up' ? m.forward : m.rollback!;
  await prepareMigrationSession(client, timeouts);
  const started = performance.now();
  const settings = recordedSettings(plan.statements);
  try {
    await runFile(client, file.path, plan, () =>
      direction === 'up'
        ? recordApplied(client, {
            version: m.version,
            name: m.name,
            checksum: m.forward.checksum,
            durationMs: performance.now() - started,
            transactional: plan.transactional,
            settings,
          })
        : recordRolledBack(client, m.version),
    );
  } catch (err) {
    // Statements 1–N stayed committed: say so in the history rather than pretend nothing happened.
    if (direction === 'up' && err instanceof MigrationFailedError && err.committedStatements > 0) {
      await recordApplied(client, {
        version: m.version,
        name: m.name,
        checksum: m.forward.checksum,
        durationMs: performance.now() - started,
        transactional: false,
        partialStatements: err.committedStatements,
        settings: settings.filter((x) => x.line < plan.statements[err.committedStatements]!.line),
      }).catch(() => undefined);
    }
    throw err;
  }
  return Math.round(performance.now() - started);
}

/** `migrate up` and `migrate down`: one change lock for the whole command, each migration in its own transaction when it can be. */
export async function migrate(
  ctx: StageContext,
  client: Client,
  direction: Direction,
  opts: MigrateOptions,
  sel: { to?: number; steps?: number } = {},
): Promise<MigrateResult> {
  const folder = await readMigrations(opts.dir);
  const { migrations } = folder;
  warnAboutFolder(ctx.log, opts.dir, folder);
  const database = ctx.target.database;
  if (!opts.dryRun) {
    await acquireChangeLock(client, opts.lockWaitMs, (h) =>
      ctx.log.info(`waiting for another pgharden changing this database${h ? ` (pid ${h.pid}, ${h.usename}, ${h.applicationName})` : ''}…`),
    );
  }
  try {
    const history = await readHistory(client);
    const inFolder = new Set(migrations.map((m) => m.version));
    for (const h of history.values())
      if (!inFolder.has(h.version)) ctx.log.warn(`migration ${h.version} (${h.name}) is applied but its file is not in ${opts.dir}`);
    const changed = refuseChanged(migrations, history, opts.allowChanged);
    const chosen = direction === 'up' ? selectUp(migrations, history, sel.to) : selectDown(migrations, history, sel);
    const inputs: LintInput[] = direction === 'up' ? lintInputs(chosen) : chosen.map((m) => ({ file: m.rollback!, version: m.version }));
    const lint = await lintBeforeRunning(client, database, inputs, opts.lint);

    const steps: StepReport[] = [];
    // Every file planned (parsed, placeholders filled) before anything is written: a missing --set value changes nothing.
    const plans = new Map<number, FilePlan>();
    for (const m of chosen) plans.set(m.version, await migrationPlan(m, direction, database, opts.placeholders));
    if (!opts.dryRun && chosen.length) await ensureHistory(client);
    for (const m of chosen) {
      const file: MigrationFile = direction === 'up' ? m.forward : m.rollback!;
      const plan = plans.get(m.version)!;
      const step: StepReport = {
        version: m.version,
        migration: label(m),
        file: file.path,
        transactional: plan.transactional,
        reason: plan.reason,
        runs: howItRuns(plan),
        statements: plan.statements.map((s) => s.sql),
        durationMs: null,
      };
      steps.push(step);
      if (opts.dryRun) continue;
      if (plan.reason) ctx.log.info(`${file.path}: ${plan.reason}: running it outside a transaction, statement by statement`);
      step.durationMs = await executeMigration(client, m, direction, plan, opts);
      ctx.log.info(`${direction === 'up' ? 'applied' : 'rolled back'} ${step.migration} (${howItRuns(plan)}, ${step.durationMs}ms)`);
    }
    return { ok: true, direction, database, dryRun: opts.dryRun, lint, changed, steps };
  } finally {
    if (!opts.dryRun) await releaseChangeLock(client);
  }
}
