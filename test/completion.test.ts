import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

/** What bash offers for `words` (the last one being completed), with the script pgharden printed. */
function bashComplete(script: string, words: string[]): string[] {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pgharden-compl-')), 'c.bash');
  fs.writeFileSync(file, script);
  const out = execFileSync(
    'bash',
    [
      '-c',
      `source ${file}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _pgharden; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
    { encoding: 'utf8' },
  );
  return out.split('\n').filter(Boolean);
}

describe('pgharden completion', () => {
  it('bash: commands, subcommands, their options and the global ones', async () => {
    const r = await runCli(['completion', 'bash']);
    expect(r.code, r.stderr).toBe(0);
    expect(bashComplete(r.stdout, ['pgharden', 'sta'])).toEqual(['status']);
    expect(bashComplete(r.stdout, ['pgharden', 'migrate', 'l'])).toEqual(['lint']);
    expect(bashComplete(r.stdout, ['pgharden', '--db', 'x', 'verify', '--on'])).toEqual(['--once']);
    expect(bashComplete(r.stdout, ['pgharden', 'plan', '--detailed'])).toEqual(['--detailed-exitcode']);
    expect(bashComplete(r.stdout, ['pgharden', 'status', '--pol'])).toEqual(['--policy']);
  });

  it('zsh and fish scripts; another shell is bad usage', async () => {
    const zsh = await runCli(['completion', 'zsh']);
    expect(zsh.stdout).toContain('bashcompinit');
    const fish = await runCli(['completion', 'fish']);
    expect(fish.stdout).toContain("complete -c pgharden -n '__fish_seen_subcommand_from verify' -l once");
    expect((await runCli(['completion', 'tcsh'])).code).toBe(2);
  });
});
