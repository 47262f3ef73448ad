import { describe, expect, it } from 'vitest';
import { shouldColor } from '../src/color.js';
import { runCli } from './helpers.js';
import { migrationsFolder } from './migrate-helpers.js';

describe('colour', () => {
  const tty = { isTTY: true };
  const pipe = { isTTY: false };

  it('follows the stream written to, NO_COLOR, TERM=dumb and FORCE_COLOR', () => {
    expect(shouldColor(tty, {})).toBe(true);
    expect(shouldColor(pipe, {})).toBe(false);
    expect(shouldColor(tty, { NO_COLOR: '1' })).toBe(false);
    expect(shouldColor(tty, { NO_COLOR: '' })).toBe(true); // no-color.org: only a non-empty value counts
    expect(shouldColor(tty, { TERM: 'dumb' })).toBe(false);
    expect(shouldColor(pipe, { FORCE_COLOR: '1' })).toBe(true);
    expect(shouldColor(pipe, { FORCE_COLOR: '1', NO_COLOR: '1' })).toBe(true); // asked for in this run
    expect(shouldColor(tty, { FORCE_COLOR: '0' })).toBe(true);
    expect(shouldColor(pipe, { FORCE_COLOR: '0' })).toBe(false);
  });

  it('FORCE_COLOR colours the human text on stderr, never the JSON document on stdout', async () => {
    const dir = await migrationsFolder({
      '001_x.sql': "ALTER DATABASE ${database} SET shared_buffers = '1GB';\n",
      '001_x_rollback.sql': 'SELECT 1;\n',
    });
    const forced = await runCli(['migrate', 'lint', '--dir', dir, '--json'], { env: { FORCE_COLOR: '1' } });
    expect(forced.code).toBe(4);
    expect(forced.stderr).toContain('\x1b[');
    expect(forced.stdout).not.toContain('\x1b[');
    expect(JSON.parse(forced.stdout).ok).toBe(false);
    const plain = await runCli(['migrate', 'lint', '--dir', dir, '--json']); // runCli sets NO_COLOR
    expect(plain.stderr).not.toContain('\x1b[');
  });
});
