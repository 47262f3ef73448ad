import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS, commandNamed } from '../src/cli/commands/index.js';
import { ROOT, runCli } from './helpers.js';

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

describe('conventions of a Node CLI', () => {
  it('--version and -V print the package version, exit 0', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await runCli([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(pkg.version);
    }
  });

  it("every command's --help shows the global options", async () => {
    for (const name of ['status', 'monitor', 'verify']) {
      const r = await runCli([name, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Global Options:[\s\S]*--db <url>[\s\S]*--policy <file>[\s\S]*--json[\s\S]*--yes/);
      expect(r.stdout).toMatch(/3 cannot connect \(retryable\)[\s\S]*5 the database refused a statement[\s\S]*70 internal error/);
    }
  });

  it('an unknown option or command is one line with "Did you mean", not the whole help (exit 2)', async () => {
    const option = await runCli(['status', '--jsn']);
    expect(option.code).toBe(2);
    expect(option.stderr.trim().split('\n')).toEqual(["error: unknown option '--jsn'", '(Did you mean --json?)']);
    const command = await runCli(['statsu']);
    expect(command.code).toBe(2);
    expect(command.stderr).toContain('(Did you mean status?)');
    expect(command.stderr).not.toContain('Usage:');
  });

  it('the root --help lists every command and the exit codes', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const c of COMMANDS) expect(r.stdout).toContain(c.name);
    expect(r.stdout).toMatch(/5 the database refused a statement/);
    expect(r.stdout).toMatch(/70 internal error/);
  });

  it("the lazy command table says what each command's module says (summary and name)", async () => {
    for (const entry of COMMANDS) {
      const program = new Command('pgharden');
      (await entry.load()).register(program);
      const cmd = program.commands.find((c) => c.name() === entry.name);
      expect(cmd?.description(), entry.name).toBe(entry.summary);
    }
  });

  it('finds the command after global options that take a value, and after help', () => {
    expect(commandNamed(['--db', 'status', 'plan'])?.name).toBe('plan');
    expect(commandNamed(['--policy', 'x.yaml', '--json', 'verify', '--once'])?.name).toBe('verify');
    expect(commandNamed(['help', 'monitor'])?.name).toBe('monitor');
    expect(commandNamed(['--help'])).toBeNull();
  });
});
