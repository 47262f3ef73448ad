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
