import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, runCli } from './helpers.js';
import { migrationsFolder } from './migrate-helpers.js';

/** The CLI with text on standard input (runCli has none), no libpq variables, outside GitHub Actions unless set. */
function lintStdin(args: string[], input: string, env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^PG|^DATABASE_URL$|^GITHUB_ACTIONS$/.test(k)));
  const r = spawnSync(process.execPath, [CLI, 'migrate', 'lint', ...args], {
    input,
    env: { ...clean, ...env, NO_COLOR: '1' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const GRANT = 'GRANT SELECT ON notes TO PUBLIC;\n';

describe('migrate lint in CI (offline)', () => {
  it('-- pgharden-lint-ignore silences the named rules for the next statement; -ignore-file for the whole file', async () => {
    const dir = await migrationsFolder({
      '001_a.sql': `-- pgharden-lint-ignore grant-to-public, require-lock-timeout\n-- reviewed: the report role needs it\n${GRANT}GRANT SELECT ON orders TO PUBLIC;\n`,
      '001_a_rollback.sql': 'REVOKE SELECT ON notes FROM PUBLIC;\nREVOKE SELECT ON orders FROM PUBLIC;\n',
      '002_b.sql': `-- pgharden-lint-ignore-file grant-to-public\n${GRANT}${GRANT}`,
      '002_b_rollback.sql': 'REVOKE SELECT ON notes FROM PUBLIC;\n',
    });
    const r = await runCli(['migrate', 'lint', '--dir', dir, '--json']);
    expect(r.code).toBe(0);
    expect(r.json.diagnostics.map((d: { file: string; line: number; rule: string }) => [d.file.split('/').pop(), d.line, d.rule])).toEqual([
      ['001_a.sql', 4, 'grant-to-public'],
    ]);
    expect(r.json.ignored).toBe(3);
  });

  it('--rule, --exclude and --fail-on warning; an unknown rule is bad usage', async () => {
    const dir = await migrationsFolder({
      '001_a.sql': `${GRANT}ALTER TABLE notes ADD COLUMN x int;\n`,
      '001_a_rollback.sql': 'SELECT 1;\n',
    });
    const all = await runCli(['migrate', 'lint', '--dir', dir, '--json']);
    expect([all.code, all.json.diagnostics.map((d: { rule: string }) => d.rule)]).toEqual([0, ['grant-to-public', 'require-lock-timeout']]);
    const only = await runCli(['migrate', 'lint', '--dir', dir, '--json', '--rule', 'grant-to-public']);
    expect(only.json.diagnostics.map((d: { rule: string }) => d.rule)).toEqual(['grant-to-public']);
    const without = await runCli(['migrate', 'lint', '--dir', dir, '--json', '--exclude', 'grant-to-public']);
    expect(without.json.diagnostics.map((d: { rule: string }) => d.rule)).toEqual(['require-lock-timeout']);
    expect((await runCli(['migrate', 'lint', '--dir', dir, '--fail-on', 'warning'])).code).toBe(4);
    const bad = await runCli(['migrate', 'lint', '--dir', dir, '--rule', 'grant-to-publik']);
    expect([bad.code, /unknown rule grant-to-publik; rules: /.test(bad.stderr)]).toEqual([2, true]);
  });

  it('lint - reads standard input as the file --stdin-filepath names', () => {
    const r = lintStdin(
      ['-', '--stdin-filepath', 'migration/migrations/007_x.sql', '--json'],
      "ALTER DATABASE ${database} SET statment_timeout = '30s';\n",
    );
    expect(r.code).toBe(4);
    const rules = JSON.parse(r.stdout).diagnostics.map((d: { file: string; rule: string; fix?: string }) => [d.file, d.rule, d.fix]);
    expect(rules).toEqual([
      ['migration/migrations/007_x.sql', 'rollback-missing', expect.any(String)],
      ['migration/migrations/007_x.sql', 'unknown-setting', 'did you mean statement_timeout?'],
    ]);
  });

  it('GitHub annotations by themselves when GITHUB_ACTIONS=true; SARIF and GitLab Code Quality documents on stdout', () => {
    const sql = 'GRANT SELECT ON notes TO PUBLIC;\n';
    const gh = lintStdin(['-', '--stdin-filepath', 'db/001_a.sql'], sql, { GITHUB_ACTIONS: 'true' });
    expect(gh.stdout).toMatch(/^::warning file=db\/001_a\.sql,line=1,col=1,title=grant-to-public::this grants to PUBLIC/m);
    const plain = lintStdin(['-', '--stdin-filepath', 'db/001_a.sql'], sql);
    expect(plain.stdout).not.toMatch(/^::/m);

    const sarif = JSON.parse(lintStdin(['-', '--stdin-filepath', 'db/001_a.sql', '--format', 'sarif'], sql).stdout);
    expect(sarif.version).toBe('2.1.0');
    expect(
      sarif.runs[0].results.map(
        (x: {
          ruleId: string;
          level: string;
          locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[];
        }) => [x.ruleId, x.level, x.locations[0].physicalLocation.artifactLocation.uri, x.locations[0].physicalLocation.region.startLine],
      ),
    ).toEqual([
      ['grant-to-public', 'warning', 'db/001_a.sql', 1],
      ['rollback-missing', 'error', 'db/001_a.sql', 1],
    ]);
    expect(sarif.runs[0].tool.driver.rules.map((r: { id: string }) => r.id)).toContain('unknown-setting');

    const gitlab = JSON.parse(lintStdin(['-', '--stdin-filepath', 'db/001_a.sql', '--format', 'gitlab'], sql).stdout);
    expect(
      gitlab.map((x: { check_name: string; severity: string; location: { path: string; lines: { begin: number } } }) => [
        x.check_name,
        x.severity,
        x.location.path,
        x.location.lines.begin,
      ]),
    ).toEqual([
      ['grant-to-public', 'minor', 'db/001_a.sql', 1],
      ['rollback-missing', 'major', 'db/001_a.sql', 1],
    ]);
  });
});
