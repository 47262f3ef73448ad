import { InvalidArgumentError, Option, type Command } from 'commander';
import { ExitCode, UsageError } from '../../errors.js';
import { consoleLog, type Log } from '../../log.js';
import { wantsEmbedded } from '../../pg/target.js';
import { connectedContext, offlineContext } from '../../migrate/lint-context.js';
import { BUILTIN_MAJORS, DEFAULT_MAJOR } from '../../migrate/contexts.js';
import { DEFAULT_DIR, readMigrations, warnAboutFolder } from '../../migrate/folder.js';
import {
  effectiveFormat,
  githubLines,
  gitlabDocument,
  humanLines,
  LINT_FORMATS,
  sarifDocument,
  summaryLine,
} from '../../migrate/format.js';
import {
  lintInputs,
  lintInputsFromPaths,
  parametersTouched,
  parseInputs,
  runRules,
  selectRules,
  type LintReport,
} from '../../migrate/lint.js';
import type { Rule } from '../../migrate/lint-types.js';
import fs from 'node:fs';
import { newMigration } from '../../migrate/new.js';
import { placeholderValues } from '../../migrate/placeholder.js';
import { baseline, repair } from '../../migrate/adopt.js';
import { migrate, type MigrateOptions, type MigrateResult } from '../../migrate/runner.js';
import { migrateStatus } from '../../migrate/status.js';
import { migrateCheck, type CheckResult } from '../../migrate/check.js';
import { DEFAULT_EMBEDDED_DIR, embeddedLocation, startEmbedded, type EmbeddedServer } from '../../pg/embedded.js';
import { resolveTarget, type Target } from '../../pg/target.js';
import { durationOption, positiveInt } from '../options.js';
import { fromProject, projectLintSettings } from '../project.js';
import { fail, runCommand, runOffline, type GlobalOptions } from '../session.js';
import { table } from '../table.js';

function migrationNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`"${value}" is not a migration number`);
  return n;
}

function pgMajor(value: string): number {
  const n = Number(value);
  if (!(BUILTIN_MAJORS as readonly number[]).includes(n))
    throw new InvalidArgumentError(`no built-in table for PostgreSQL "${value}"; known: ${BUILTIN_MAJORS.join(', ')}`);
  return n;
}

const dirOption = (cmd: Command) => cmd.option('--dir <folder>', 'the migrations folder', DEFAULT_DIR);

const duration = (flags: string, what: string, ms: number, shown: string) =>
  new Option(flags, what).argParser(durationOption).default(ms, shown);

/** Options of the commands that change the database. */
function runnerOptions(cmd: Command): Command {
  return dirOption(cmd)
    .option('--dry-run', 'lint and print what would run; change nothing')
    .option('--allow-changed', 'proceed even if an applied file changed since it ran')
    .addOption(duration('--lock-wait <duration>', 'how long to wait for another pgharden changing this database', 60_000, '60s'))
    .addOption(duration('--lock-timeout <duration>', 'lock_timeout of the migration session', 5_000, '5s'))
    .addOption(duration('--statement-timeout <duration>', 'statement_timeout of the migration session', 600_000, '10min'))
    .option(...SET_OPTION);
}

/** `--set name=value`, repeatable: fills `${name}` in the files (also PGHARDEN_SET_name). */
const SET_OPTION = [
  '--set <name=value>',
  'value of ${name} in the files (repeatable; also PGHARDEN_SET_name)',
  (v: string, acc: string[] = []) => [...acc, v],
] as const;

type RunnerFlags = GlobalOptions & {
  set?: string[];
  dir: string;
  dryRun?: boolean;
  allowChanged?: boolean;
  lockWait: number;
  lockTimeout: number;
  statementTimeout: number;
  to?: number;
  steps?: number;
};

const runnerOpts = (o: RunnerFlags): MigrateOptions => ({
  dir: o.dir,
  dryRun: Boolean(o.dryRun),
  allowChanged: Boolean(o.allowChanged),
  lockWaitMs: o.lockWait,
  lockTimeoutMs: o.lockTimeout,
  statementTimeoutMs: o.statementTimeout,
  placeholders: placeholderValues(o.set),
  lint: projectLintSettings(),
});

function renderLint(log: Log, r: LintReport, format: string, json = false): void {
  // With --json stdout holds the one JSON document: the annotations go to stderr with the human text.
  if (format === 'github') for (const line of githubLines(r.diagnostics)) json ? log.info(line) : process.stdout.write(line + '\n');
  else if (format === 'human') for (const line of humanLines(r.diagnostics)) log.info(line);
  log.info(summaryLine(r) + (r.ignored ? ` (${r.ignored} silenced by pgharden-lint-ignore)` : ''));
}

function renderRun(r: MigrateResult, log: Log): void {
  if (r.lint.diagnostics.length) renderLint(log, r.lint, 'human');
  const verb = r.direction === 'up' ? 'apply' : 'roll back';
  if (!r.steps.length) {
    log.info(
      r.direction === 'up' ? `nothing to apply: database ${r.database} is up to date` : `nothing to roll back on database ${r.database}`,
    );
    return;
  }
  if (r.dryRun) {
    for (const s of r.steps) {
      log.info(
        `would ${verb} ${s.migration} from ${s.file} ${s.transactional ? s.runs : `outside a transaction, statement by statement (${s.reason})`}:`,
      );
      for (const sql of s.statements) log.info(`    ${sql.replace(/\n/g, '\n    ')};`);
    }
    log.info('dry run: nothing was changed');
    return;
  }
  log.info(`database ${r.database}: ${r.steps.length} migration(s) ${r.direction === 'up' ? 'applied' : 'rolled back'}`);
}

function registerRunner(migrateCmd: Command, direction: 'up' | 'down'): void {
  const cmd = runnerOptions(migrateCmd.command(direction))
    .description(
      direction === 'up' ? 'lint, then apply pending migrations in order' : 'run the rollback files of applied migrations, newest first',
    )
    .option(
      '--to <N>',
      direction === 'up' ? 'apply up to and including migration N' : 'roll back every migration numbered above N',
      migrationNumber,
    );
  if (direction === 'down')
    cmd.addOption(new Option('--steps <K>', 'roll back the last K migrations (default 1)').argParser(positiveInt).conflicts('to'));
  cmd.action(async (_o, c: Command) => {
    const o = c.optsWithGlobals<RunnerFlags>();
    await runCommand(
      o,
      ({ ctx, client }) => migrate(ctx, client, direction, runnerOpts(o), { to: o.to, steps: o.steps }),
      (r, { log }) => renderRun(r, log),
    );
  });
}

type LintResult = LintReport & { ok: boolean; exitCode: number };
type LintFlags = GlobalOptions & {
  dir: string;
  format?: string;
  offline?: boolean;
  pgVersion: number;
  rule?: string[];
  exclude?: string[];
  failOn: 'error' | 'warning';
  stdinFilepath?: string;
};

function packageVersion(): string {
  try {
    return JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version;
  } catch {
    return '0.0.0';
  }
}

/** Offline unless a server is named (--db, DATABASE_URL, PG* variables): linting never starts the embedded server. */
async function lintCommand(files: string[], o: LintFlags): Promise<void> {
  const json = Boolean(o.json);
  const format = effectiveFormat(o.format);
  // A machine-readable document owns stdout; the summary goes to stderr.
  const document = format === 'sarif' || format === 'gitlab';
  let rules: Rule[];
  let stdin: { path: string; text: string } | undefined;
  try {
    if (json && document) throw new UsageError(`--json and --format ${format} both write stdout: give one`);
    // pgharden.yaml lint.severity: "off" is an exclusion unless --rule names the rule.
    const { severity } = projectLintSettings();
    const off = Object.keys(severity).filter((r) => severity[r] === 'off' && !(fromProject('rule') ? [] : (o.rule ?? [])).includes(r));
    rules = selectRules(o.rule, [...(o.exclude ?? []), ...off]);
    if (files.includes('-')) stdin = { path: o.stdinFilepath ?? '<stdin>', text: fs.readFileSync(0, 'utf8') };
  } catch (err) {
    fail(err, json);
    return;
  }
  const inputs = async () => (files.length ? lintInputsFromPaths(files, stdin) : lintInputs((await readMigrations(o.dir)).migrations));
  const result = (report: LintReport): LintResult => {
    const failing = report.errors + (o.failOn === 'warning' ? report.warnings : 0);
    return { ...report, ok: failing === 0, exitCode: failing ? ExitCode.blocked : ExitCode.ok };
  };
  const render = (r: LintResult, { log }: { log: Log }) => {
    if (format === 'sarif') process.stdout.write(JSON.stringify(sarifDocument(r.diagnostics, rules, packageVersion()), null, 2) + '\n');
    if (format === 'gitlab') process.stdout.write(JSON.stringify(gitlabDocument(r.diagnostics), null, 2) + '\n');
    renderLint(document ? consoleLog(true) : log, r, format, json);
  };
  // Connected when a server is named or the embedded one asked for; otherwise offline (lint never starts a server by itself).
  if (!o.offline && (!wantsEmbedded(o.db) || o.embedded || process.env.PGHARDEN_EMBEDDED === '1')) {
    await runCommand(
      o,
      async ({ ctx, client }) => {
        const parsed = await parseInputs(await inputs());
        return result(
          runRules(
            parsed,
            await connectedContext(client, ctx.target.database, parametersTouched(parsed.files)),
            rules,
            projectLintSettings().severity,
          ),
        );
      },
      render,
    );
    return;
  }
  await runOffline(
    o,
    async () => result(runRules(await parseInputs(await inputs()), offlineContext(o.pgVersion), rules, projectLintSettings().severity)),
    render,
  );
}

type CheckFlags = GlobalOptions & {
  set?: string[];
  dir: string;
  shadow?: string;
  format?: string;
  lockTimeout: number;
  statementTimeout: number;
};

function renderCheck(r: CheckResult, log: Log, format: string): void {
  if (format === 'github') for (const line of githubLines(r.findings)) process.stdout.write(line + '\n');
  else for (const line of humanLines(r.findings)) log.info(line.replace(/\n/g, '\n      '));
  for (const note of r.notes) log.info(`note: ${note}`);
  if (r.notChecked.length) log.info(`not checked (an earlier migration failed to apply): ${r.notChecked.join(', ')}`);
  const n = r.findings.length;
  log.info(
    `migrate check: ${r.migrations} migration(s), ${r.roundTrips} round trip(s) proved (apply, rollback, re-apply) on ${r.server} in ${(r.durationMs / 1000).toFixed(1)}s: ${n ? `${n} finding${n === 1 ? '' : 's'}` : 'no findings'}`,
  );
}

/**
 * The shadow's server: --shadow, else a named server (--db, DATABASE_URL, PG*), else the embedded
 * one. Unlike other commands a throwaway server is the point here (it proves files, not a
 * database), so a script with nothing named gets the embedded server rather than exit 3.
 */
async function checkCommand(o: CheckFlags): Promise<void> {
  await runOffline(
    o,
    async ({ log }) => {
      let embedded: EmbeddedServer | null = null;
      try {
        if (o.shadow && o.db) throw new UsageError('--shadow and --db both name the server for the shadow database: give one');
        let server: Target;
        let serverLabel: string;
        const named = o.shadow ?? (o.embedded || process.env.PGHARDEN_EMBEDDED === '1' ? undefined : o.db);
        if (named || (!o.embedded && process.env.PGHARDEN_EMBEDDED !== '1' && !wantsEmbedded(undefined))) {
          server = resolveTarget(named);
          serverLabel = server.display.replace(/\/[^/]*$/, '');
        } else {
          const loc = embeddedLocation(DEFAULT_EMBEDDED_DIR);
          log.info(
            `pgharden: migrate check: using the embedded PostgreSQL in ${loc.relocated ? `${loc.root}/ (${loc.relocated})` : `${DEFAULT_EMBEDDED_DIR}/`}`,
          );
          embedded = await startEmbedded(loc);
          server = embedded.target('postgres');
          serverLabel = 'the embedded PostgreSQL';
        }
        return await migrateCheck(log, server, serverLabel, {
          dir: o.dir,
          lockTimeoutMs: o.lockTimeout,
          statementTimeoutMs: o.statementTimeout,
          placeholders: placeholderValues(o.set),
        });
      } finally {
        await embedded?.stop().catch(() => undefined);
      }
    },
    (r, { log }) => renderCheck(r, log, effectiveFormat(o.format)),
  );
}

const formatOption = (v: string) => {
  if (v !== 'human' && v !== 'github') throw new InvalidArgumentError('use human or github');
  return v;
};

export function register(program: Command): void {
  const migrateCmd = program
    .command('migrate')
    .description('run a folder of numbered migrations (NNN_name.sql + NNN_name_rollback.sql) safely, and lint it')
    .addHelpText(
      'after',
      `
History is kept in pgharden.schema_migrations (version, name, sha256, applied_at, applied_by,
duration). Each migration runs in its own transaction with lock_timeout and statement_timeout
set; one with statements that cannot run in a transaction (CREATE INDEX CONCURRENTLY, VACUUM,
ALTER SYSTEM, …) runs statement by statement, and says so. \${database} in a file becomes the
quoted target database name. The whole command holds the advisory lock apply also takes.
Exit codes: 0 ok · 1 an applied file changed · 2 bad usage or folder · 3 cannot connect or
the database refused a statement · 4 blocked by lint (nothing changed). Rules: docs/migrate.md`,
    );

  registerRunner(migrateCmd, 'up');
  registerRunner(migrateCmd, 'down');

  dirOption(migrateCmd.command('status'))
    .description('applied, pending and changed migrations; exit 1 when any is pending or changed')
    .option('--pending-ok', 'exit 0 when migrations are pending (changed files still exit 1)')
    .action(async (_o, c: Command) => {
      const o = c.optsWithGlobals<GlobalOptions & { dir: string; pendingOk?: boolean }>();
      await runCommand(
        o,
        ({ ctx, client }) => migrateStatus(client, ctx.target.database, o.dir, { pendingOk: o.pendingOk }),
        (r, { log }) => {
          warnAboutFolder(log, o.dir, { ignored: [], gaps: r.gaps });
          log.info(
            table(
              ['version', 'migration', 'state', 'rollback', 'applied at', 'by', 'ms', 'transaction'],
              r.rows.map((x) => [
                x.version,
                x.migration,
                x.state === 'partial' ? `partially applied: statements 1–${x.partialStatements} committed` : x.state,
                x.hasRollback ? 'yes' : 'NO',
                x.appliedAt,
                x.appliedBy,
                x.durationMs,
                x.transactional === null ? null : x.transactional ? 'one' : 'none',
              ]),
            ),
          );
          log.info(
            `\ndatabase ${r.database}: ${r.rows.length - r.pending} applied, ${r.pending} pending${r.changed ? `, ${r.changed} CHANGED or missing since applied` : ''}`,
          );
          for (const p of r.problems) log.info(`exit 1: ${p}`);
        },
      );
    });

  dirOption(migrateCmd.command('baseline'))
    .description('adopt a database migrated by other means (psql -f) up to N: record those migrations as applied without running them')
    .requiredOption('--to <N>', 'the last migration already in the database', migrationNumber)
    .option('--reason <text>', 'why, for the journal', 'adopted with pgharden migrate baseline')
    .action(async (_o, c: Command) => {
      const o = c.optsWithGlobals<GlobalOptions & { dir: string; to: number; reason: string }>();
      await runCommand(
        o,
        ({ ctx, client }) => baseline(ctx, client, o.dir, o.to, o.reason),
        (r, { log }) =>
          log.info(
            `database ${r.database}: ${r.versions.length} migration(s) recorded as applied (journal: pgharden.schema_migrations_journal)`,
          ),
      );
    });

  dirOption(migrateCmd.command('repair'))
    .description('accept the current checksum of applied files that were edited on purpose, with a journal entry')
    .option('--reason <text>', 'why, for the journal', 'accepted with pgharden migrate repair')
    .action(async (_o, c: Command) => {
      const o = c.optsWithGlobals<GlobalOptions & { dir: string; reason: string }>();
      await runCommand(
        o,
        ({ ctx, client }) => repair(ctx, client, o.dir, o.reason),
        (r, { log }) =>
          log.info(`database ${r.database}: ${r.versions.length} checksum(s) accepted (journal: pgharden.schema_migrations_journal)`),
      );
    });

  dirOption(migrateCmd.command('new').argument('<name>', 'what the migration does, e.g. add_orders_index'))
    .description('create the next numbered pair NNN_name.sql and NNN_name_rollback.sql')
    .action(async (name: string, _o, c: Command) => {
      const o = c.optsWithGlobals<GlobalOptions & { dir: string }>();
      await runOffline(
        o,
        async () => ({ ok: true, ...(await newMigration(o.dir, name)) }),
        (r, { log }) => log.info(`created ${r.forward} and ${r.rollback}`),
      );
    });

  dirOption(migrateCmd.command('check'))
    .description(
      'prove the folder on a throwaway shadow database: apply all, then roll back and re-apply each, comparing schema fingerprints',
    )
    .option('--shadow <url>', 'server to create the shadow database on (default: --db / DATABASE_URL / PG*, else the embedded server)')
    .option('--format <format>', 'human or github (workflow annotations; the default when GITHUB_ACTIONS=true)', formatOption)
    .addOption(duration('--lock-timeout <duration>', 'lock_timeout of the migration session', 5_000, '5s'))
    .addOption(duration('--statement-timeout <duration>', 'statement_timeout of the migration session', 600_000, '10min'))
    .option(...SET_OPTION)
    .action(async (_o, c: Command) => checkCommand(c.optsWithGlobals<CheckFlags>()));

  dirOption(migrateCmd.command('lint').argument('[files...]', 'files to lint (default: every file in --dir); - reads standard input'))
    .description('lint migrations with the PostgreSQL parser; offline unless --db, DATABASE_URL or PG* variables name a server')
    .option('--format <format>', `${LINT_FORMATS.join(', ')} (default: github when GITHUB_ACTIONS=true, else human)`, (v) => {
      if (!(LINT_FORMATS as readonly string[]).includes(v)) throw new InvalidArgumentError(`use ${LINT_FORMATS.join(', ')}`);
      return v;
    })
    .option('--rule <name>', 'run only this rule (repeatable)', collect)
    .option('--exclude <name>', 'do not run this rule (repeatable)', collect)
    .addOption(
      new Option('--fail-on <severity>', 'exit 4 on errors only, or on warnings too').choices(['error', 'warning']).default('error'),
    )
    .option('--stdin-filepath <path>', 'the file name standard input (-) stands for, in messages and for its rollback beside it')
    .option('--offline', 'use the built-in parameter table even when a server is named')
    .option('--pg-version <major>', `PostgreSQL major for the built-in table (${BUILTIN_MAJORS.join(', ')})`, pgMajor, DEFAULT_MAJOR)
    .action(async (files: string[], _o, c: Command) => lintCommand(files, c.optsWithGlobals()));
}

const collect = (v: string, acc: string[] = []) => [...acc, v];
