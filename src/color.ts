/**
 * Whether to colour human text, decided for the stream it is written to (with --json that is
 * stderr, not stdout). The conventions: FORCE_COLOR (any value but 0/false) forces it,
 * NO_COLOR (any non-empty value, no-color.org) and TERM=dumb turn it off, otherwise a terminal.
 */
export function shouldColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false') return true;
  if (env.NO_COLOR) return false;
  if (env.TERM === 'dumb') return false;
  return Boolean(stream.isTTY);
}

let human: { isTTY?: boolean } = process.stdout;

/** The stream human text goes to (set by consoleLog): colour follows it. */
export function setHumanStream(stream: { isTTY?: boolean }): void {
  human = stream;
}

export const colorHuman = (): boolean => shouldColor(human);

const wrap = (code: string) => (s: string) => (colorHuman() ? `\x1b[${code}m${s}\x1b[0m` : s);
export const paint = { ok: wrap('32'), bad: wrap('31'), warn: wrap('33'), dim: wrap('2') };

export const mark = (ok: boolean) => (ok ? paint.ok('✔') : paint.bad('✘'));
