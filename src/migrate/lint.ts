import fs from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { label, parseFileName, readMigrationFile, type Migration, type MigrationFile } from './folder.js';
import type { Diagnostic, LintContext, LintFile, Rule, Severity } from './lint-types.js';
import { forLint } from './placeholder.js';
import { RULES } from './rules/index.js';
import { settingChange } from './settings.js';
import { parseSql } from './sql-file.js';
import { applyIgnores } from './suppress.js';

/** A file to lint: forward files carry their rollback (null = none) when they follow `NNN_name.sql`. */
export interface LintInput {
  file: MigrationFile;
  version: number | null;
  rollback?: MigrationFile | null;
}

export interface LintReport {
  catalog: string;
  connected: boolean;
  files: string[];
  diagnostics: Diagnostic[];
  errors: number;
  warnings: number;
  /** Findings silenced by `-- pgharden-lint-ignore` comments. */
  ignored: number;
}

/** The parsed files (forward and rollback, each linted on its own) and any syntax errors. */
export interface ParsedInputs {
  files: LintFile[];
  syntaxErrors: Diagnostic[];
}

export const lintInputs = (migrations: Migration[]): LintInput[] =>
  migrations.map((m) => ({ file: m.forward, version: m.version, rollback: m.rollback }));

/** Files named on the command line; a forward file brings its rollback from beside it. */
export async function lintInputsFromPaths(paths: string[], stdin?: { path: string; text: string }): Promise<LintInput[]> {
  const inputs: LintInput[] = [];
  // `-` is standard input, linted as if it were the file --stdin-filepath names (an editor's unsaved buffer).
  const named = paths.map((p) => (p === '-' && stdin ? stdin.path : p));
  const given = new Set(named.map((p) => path.resolve(p)));
  for (const [i, p] of named.entries()) {
    const file =
      paths[i] === '-' && stdin
        ? { path: stdin.path, text: stdin.text.replace(/^\uFEFF/, ''), checksum: '', rawChecksum: '' }
        : await readMigrationFile(p).catch((err: NodeJS.ErrnoException) => {
            throw new UsageError(`cannot read ${p}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
          });
    const parts = parseFileName(path.basename(p));
    if (parts?.rollback) {
      // Linted with its forward file when that was named too.
      const forward = path.join(path.dirname(p), `${label(parts)}.sql`);
      if (!given.has(path.resolve(forward))) inputs.push({ file, version: Number(parts.id), rollback: undefined });
      continue;
    }
    const rollbackPath = parts ? path.join(path.dirname(p), `${label(parts)}_rollback.sql`) : null;
    const rollback = rollbackPath && (await fs.stat(rollbackPath).catch(() => null)) ? await readMigrationFile(rollbackPath) : null;
    inputs.push({ file, version: parts ? Number(parts.id) : null, rollback: parts ? rollback : undefined });
  }
  return inputs;
}

async function parseOne(
  file: MigrationFile,
  kind: LintFile['kind'],
  version: number | null,
  errors: Diagnostic[],
): Promise<LintFile | null> {
  const parsed = await parseSql(forLint(file.text));
  if (parsed.ok) return { path: file.path, kind, version, statements: parsed.statements, text: file.text };
  errors.push({
    rule: 'syntax-error',
    severity: 'error',
    file: file.path,
    ...parsed.position,
    message: parsed.error,
    fix: 'fix the SQL: nothing in this file can run',
  });
  return null;
}

export async function parseInputs(inputs: LintInput[]): Promise<ParsedInputs> {
  const files: LintFile[] = [];
  const syntaxErrors: Diagnostic[] = [];
  for (const input of inputs) {
    const isRollback = Boolean(parseFileName(path.basename(input.file.path))?.rollback);
    const main = await parseOne(input.file, isRollback ? 'rollback' : 'forward', input.version, syntaxErrors);
    const rollback = input.rollback ? await parseOne(input.rollback, 'rollback', input.version, syntaxErrors) : null;
    if (main) {
      // null: there is no rollback file. One that does not parse has its own error, and the pair rules skip it.
      if (!isRollback && input.rollback === null) main.rollback = null;
      if (!isRollback && rollback) main.rollback = rollback;
      files.push(main);
    }
    if (rollback) files.push(rollback);
  }
  return { files, syntaxErrors };
}

/** Parameters the files change: the connected linter asks the server whether we may set them. */
export function parametersTouched(files: LintFile[]): string[] {
  return [...new Set(files.flatMap((f) => f.statements.map((s) => settingChange(s)?.name).filter((n): n is string => Boolean(n))))];
}

export function runRules(
  parsed: ParsedInputs,
  ctx: LintContext,
  rules: Rule[] = RULES,
  severity: Record<string, Severity | 'off'> = {},
): LintReport {
  const found = [...parsed.syntaxErrors];
  for (const file of parsed.files) {
    for (const rule of rules) {
      const override = severity[rule.name];
      if (override === 'off') continue;
      for (const f of rule.check(file, ctx)) {
        // A team's severity (pgharden.yaml lint.severity) beats the rule's own, offline or connected.
        found.push({
          rule: rule.name,
          severity: override ?? f.severity ?? rule.severity,
          file: f.file ?? file.path,
          line: f.line,
          col: f.col,
          message: f.message,
          fix: f.fix,
        });
      }
    }
  }
  const { kept: diagnostics, ignored } = applyIgnores(found, parsed.files);
  // Files in the order given (a forward file before its rollback), then by position.
  const fileOrder = new Map([...parsed.syntaxErrors.map((d) => d.file), ...parsed.files.map((f) => f.path)].map((f, i) => [f, i]));
  diagnostics.sort(
    (a, b) => fileOrder.get(a.file)! - fileOrder.get(b.file)! || a.line - b.line || a.col - b.col || a.rule.localeCompare(b.rule),
  );
  return {
    catalog: ctx.catalog.description,
    connected: ctx.target !== null,
    files: [...new Set([...parsed.files.map((f) => f.path), ...parsed.syntaxErrors.map((d) => d.file)])].sort(),
    diagnostics,
    errors: diagnostics.filter((d) => d.severity === 'error').length,
    warnings: diagnostics.filter((d) => d.severity === 'warning').length,
    ignored,
  };
}

/** The rules to run: `--rule` (only these) and `--exclude` (all but these); an unknown name is bad usage. */
export function selectRules(only: string[] = [], exclude: string[] = []): Rule[] {
  const known = new Set(RULES.map((r) => r.name));
  const unknown = [...only, ...exclude].filter((n) => !known.has(n));
  if (unknown.length)
    throw new UsageError(`unknown rule${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; rules: ${[...known].join(', ')}`);
  return RULES.filter((r) => (!only.length || only.includes(r.name)) && !exclude.includes(r.name));
}
