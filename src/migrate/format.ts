import { createHash } from 'node:crypto';
import { paint } from '../color.js';
import type { LintReport } from './lint.js';
import type { Diagnostic } from './lint-types.js';

/** `file:line:col  error  rule  message`, then what to write instead. */
export function humanLines(diagnostics: Diagnostic[]): string[] {
  return diagnostics.flatMap((d) => [
    `${d.file}:${d.line}:${d.col}  ${d.severity === 'error' ? paint.bad('error') : paint.warn('warning')}  ${d.rule}  ${d.message}`,
    ...(d.fix ? [`    instead: ${d.fix}`] : []),
  ]);
}

export function summaryLine(r: LintReport): string {
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  return `${count(r.files.length, 'file')} linted: ${count(r.errors, 'error')}, ${count(r.warnings, 'warning')} (catalog: ${r.catalog})`;
}

// GitHub workflow commands: data escapes %, CR, LF; properties also ':' and ','.
const escapeData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const escapeProperty = (s: string) => escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

/** One `::error file=…,line=…,col=…,title=rule::message` annotation per diagnostic. */
export function githubLines(diagnostics: Diagnostic[]): string[] {
  return diagnostics.map((d) => {
    const props = `file=${escapeProperty(d.file)},line=${d.line},col=${d.col},title=${escapeProperty(d.rule)}`;
    return `::${d.severity} ${props}::${escapeData(d.fix ? `${d.message}\ninstead: ${d.fix}` : d.message)}`;
  });
}

/** SARIF 2.1.0 (GitHub code scanning, GitLab, IDEs): one run, one result per diagnostic. */
export function sarifDocument(diagnostics: Diagnostic[], rules: { name: string; summary: string }[], version: string): unknown {
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'pgharden',
            version,
            rules: rules.map((r) => ({ id: r.name, shortDescription: { text: r.summary } })),
          },
        },
        results: diagnostics.map((d) => ({
          ruleId: d.rule,
          level: d.severity,
          message: { text: d.fix ? `${d.message}\ninstead: ${d.fix}` : d.message },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: d.file.split('\\').join('/') },
                region: { startLine: d.line, startColumn: d.col },
              },
            },
          ],
        })),
      },
    ],
  };
}

/** GitLab Code Quality report (a JSON array; `fingerprint` must be stable for the same finding). */
export function gitlabDocument(diagnostics: Diagnostic[]): unknown {
  return diagnostics.map((d) => ({
    description: d.fix ? `${d.message} — instead: ${d.fix}` : d.message,
    check_name: d.rule,
    fingerprint: createHash('sha256').update(`${d.rule}\0${d.file}\0${d.line}\0${d.message}`).digest('hex'),
    severity: d.severity === 'error' ? 'major' : 'minor',
    location: { path: d.file, lines: { begin: d.line } },
  }));
}

export const LINT_FORMATS = ['human', 'github', 'sarif', 'gitlab'] as const;
export type LintFormat = (typeof LINT_FORMATS)[number];

/** `--format`, else GitHub annotations when running in GitHub Actions, else human. */
export function effectiveFormat(given: string | undefined, env: NodeJS.ProcessEnv = process.env): LintFormat {
  if (given) return given as LintFormat;
  return env.GITHUB_ACTIONS === 'true' ? 'github' : 'human';
}
