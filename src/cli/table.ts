import { colorHuman } from '../color.js';

/** A plain text table: columns padded to their widest cell. */
export function table(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '—' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(cells[0]), line(widths.map((w) => '─'.repeat(w))), ...cells.slice(1).map(line)].join('\n');
}

const useColor = colorHuman; // NO_COLOR, FORCE_COLOR, TERM=dumb, and the stream human text goes to (src/color.ts)
export const paint = {
  ok: (s: string) => (useColor() ? `\x1b[32m${s}\x1b[0m` : s),
  bad: (s: string) => (useColor() ? `\x1b[31m${s}\x1b[0m` : s),
  warn: (s: string) => (useColor() ? `\x1b[33m${s}\x1b[0m` : s),
  dim: (s: string) => (useColor() ? `\x1b[2m${s}\x1b[0m` : s),
};

export const mark = (ok: boolean) => (ok ? paint.ok('✔') : paint.bad('✘'));
