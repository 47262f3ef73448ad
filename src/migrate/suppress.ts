import type { Diagnostic, LintFile } from './lint-types.js';

/**
 * `-- pgharden-lint-ignore rule[, rule]` on the line(s) before a statement silences those rules for
 * that statement; `-- pgharden-lint-ignore-file rule[, rule]` anywhere silences them for the file
 * (`all` for every rule). Like squawk-ignore: a team can accept a finding where it is, in review,
 * instead of turning the rule off everywhere.
 */
const DIRECTIVE = /--\s*pgharden-lint-ignore(-file)?\s+([A-Za-z0-9_-]+(?:\s*,\s*[A-Za-z0-9_-]+)*)/;

interface Ignores {
  file: Set<string>;
  /** Statement start line → rules ignored there. */
  lines: Map<number, Set<string>>;
}

function ignoresOf(file: LintFile): Ignores {
  const ignores: Ignores = { file: new Set(), lines: new Map() };
  const starts = file.statements.map((s) => s.line).sort((a, b) => a - b);
  (file.text ?? '').split('\n').forEach((text, i) => {
    const m = DIRECTIVE.exec(text);
    if (!m) return;
    const rules = m[2].split(',').map((r) => r.trim());
    if (m[1]) return rules.forEach((r) => ignores.file.add(r));
    // The statement that starts after the directive's line (comments in between are fine).
    const next = starts.find((l) => l > i + 1);
    if (next === undefined) return;
    const set = ignores.lines.get(next) ?? new Set<string>();
    rules.forEach((r) => set.add(r));
    ignores.lines.set(next, set);
  });
  return ignores;
}

/** The diagnostics left after the files' ignore comments, and how many were silenced. */
export function applyIgnores(diagnostics: Diagnostic[], files: LintFile[]): { kept: Diagnostic[]; ignored: number } {
  const byPath = new Map(files.map((f) => [f.path, ignoresOf(f)]));
  const kept = diagnostics.filter((d) => {
    const ig = byPath.get(d.file);
    if (!ig || d.rule === 'syntax-error') return true;
    const silenced = (set: Set<string> | undefined) => Boolean(set && (set.has(d.rule) || set.has('all')));
    return !(silenced(ig.file) || silenced(ig.lines.get(d.line)));
  });
  return { kept, ignored: diagnostics.length - kept.length };
}
