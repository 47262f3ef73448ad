import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_SCHEMA_FILE, projectJsonSchema } from '../src/project/schema.js';
import { ROOT, runCli, snapshot, sql, tempDir, testServers, uniqueName, urlFor, withTestDatabase } from './helpers.js';

/** A repository with pgharden.yaml at its root, its policies and migrations, and a nested folder to run from. */
async function repository(project: string, files: Record<string, string> = {}): Promise<{ root: string; nested: string }> {
  const root = await tempDir('pgharden-project-');
  await fs.writeFile(path.join(root, 'pgharden.yaml'), project);
  for (const [name, text] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await fs.writeFile(path.join(root, name), text);
  }
  const nested = path.join(root, 'services', 'api');
  await fs.mkdir(nested, { recursive: true });
  return { root, nested };
}

const POLICY = { 'ops/hardening.yaml': 'settings:\n  work_mem: 32MB\n', 'ops/other.yaml': 'settings:\n  work_mem: 48MB\n' };
const target = (plan: { rows: { setting: string; target: string | null }[] }) => plan.rows.find((r) => r.setting === 'work_mem')?.target;

describe('pgharden.yaml', () => {
  it('its JSON Schema is committed and current', async () => {
    const committed = JSON.parse(await fs.readFile(path.join(ROOT, PROJECT_SCHEMA_FILE), 'utf8'));
    expect(committed, 'stale: run `node dist/cli/main.js policy schema --project > policies/project.schema.json`').toEqual(
      projectJsonSchema(),
    );
  });

  describe.each(testServers())('on $name PostgreSQL', (server) => {
    it('found in a parent directory, it picks the policy and the server; --verbose names it', async () => {
      await withTestDatabase(server, uniqueName('proj'), async (db) => {
        const { nested } = await repository(`policy: ops/hardening.yaml\ndb: ${JSON.stringify(urlFor(server, db))}\n`, POLICY);
        const plan = await runCli(['plan', '--json', '--verbose'], { cwd: nested });
        expect(plan.code, plan.stderr).toBe(0);
        expect(plan.json.database).toBe(db);
        expect(target(plan.json)).toBe('32MB');
        expect(plan.stderr).toMatch(/^pgharden: project file \.\.\/\.\.\/pgharden\.yaml \(used: policy, db \(server\)\)$/m);
        // Without --verbose it says nothing about it (as git, eslint and terraform do).
        expect((await runCli(['plan'], { cwd: nested })).stderr).not.toMatch(/project file/);
      });
    });

    it('flags and environment variables override it: --policy, --db, DATABASE_URL', async () => {
      await withTestDatabase(server, uniqueName('proj_a'), async (a) => {
        await withTestDatabase(server, uniqueName('proj_b'), async (b) => {
          const { nested } = await repository(`policy: ops/hardening.yaml\ndb: ${JSON.stringify(urlFor(server, a))}\n`, POLICY);
          const other = path.join(nested, '..', '..', 'ops', 'other.yaml');
          const byFlag = await runCli(['plan', '--json', '--policy', other, '--db', urlFor(server, b)], { cwd: nested });
          expect(byFlag.code, byFlag.stderr).toBe(0);
          expect([byFlag.json.database, target(byFlag.json)]).toEqual([b, '48MB']);
          const byEnv = await runCli(['plan', '--json'], { cwd: nested, env: { DATABASE_URL: urlFor(server, b) } });
          expect([byEnv.json.database, target(byEnv.json)]).toEqual([b, '32MB']);
          const ignored = await runCli(['plan', '--json', '--db', urlFor(server, b)], { cwd: nested, env: { PGHARDEN_PROJECT: 'none' } });
          expect(target(ignored.json)).toBe('256MB'); // the built-in ticket-010
        });
      });
    });

    it('a malformed file fails with exit 2 naming the file and the key, and changes nothing', async () => {
      await withTestDatabase(server, uniqueName('proj_bad'), async (db) => {
        const { root, nested } = await repository(
          `policy: ops/hardening.yaml\ndb: ${JSON.stringify(urlFor(server, db))}\nlint:\n  exclud: [grant-to-public]\n`,
          POLICY,
        );
        const before = await snapshot(server, db);
        const apply = await runCli(['apply', '--yes', '--approved-by', 'test'], { cwd: nested });
        expect(apply.code).toBe(2);
        expect(apply.stderr).toContain(`project file ${path.join(root, 'pgharden.yaml')} is invalid (nothing was done):`);
        expect(apply.stderr).toMatch(/lint: unknown key "exclud" \(did you mean exclude\?\)/);
        expect(await snapshot(server, db)).toEqual(before);
        expect(await sql(server, "SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'pgharden'", [], db)).toEqual([{ n: 0 }]);

        await fs.writeFile(path.join(root, 'pgharden.yaml'), 'db: postgres://a\n  env: prod\n');
        const yaml = await runCli(['status', '--json'], { cwd: nested });
        expect(yaml.code).toBe(2);
        expect(yaml.json).toMatchObject({ ok: false, exitCode: 2 });
        expect(yaml.json.error).toMatch(/pgharden\.yaml is invalid/);

        await fs.writeFile(path.join(root, 'pgharden.yaml'), 'db: postgres://x\nenv: production\n');
        expect((await runCli(['status'], { cwd: nested })).stderr).toMatch(/env: db and env name two default targets: keep one/);
      });
    });

    it('migrations.dir and lint: settings apply to migrate lint and to the lint migrate up runs first; flags override them', async () => {
      await withTestDatabase(server, uniqueName('proj_mig'), async (db) => {
        const files = {
          'db/migrations/001_t.sql': 'CREATE TABLE t (a int);\nGRANT SELECT ON t TO PUBLIC;\n',
          'db/migrations/001_t_rollback.sql': 'DROP TABLE t;\n',
        };
        const url = JSON.stringify(urlFor(server, db));
        const { root, nested } = await repository(
          `db: ${url}\nmigrations:\n  dir: db/migrations\nlint:\n  severity:\n    grant-to-public: error\n    require-lock-timeout: \"off\"\n`,
          files,
        );
        const lint = await runCli(['migrate', 'lint', '--offline', '--json'], { cwd: nested });
        expect(lint.code, lint.stderr).toBe(4);
        expect(lint.json.diagnostics).toEqual([
          expect.objectContaining({
            rule: 'grant-to-public',
            severity: 'error',
            file: path.join('..', '..', 'db', 'migrations', '001_t.sql'),
          }),
        ]);
        const up = await runCli(['migrate', 'up'], { cwd: nested });
        expect(up.code, up.stderr).toBe(4);
        expect(up.stderr).toMatch(/error +grant-to-public/);
        expect(await sql(server, "SELECT to_regclass('public.t') IS NULL AS absent", [], db)).toEqual([{ absent: true }]);
        // --exclude on the command line replaces the file's rule selection.
        expect((await runCli(['migrate', 'lint', '--offline', '--exclude', 'grant-to-public'], { cwd: nested })).code).toBe(0);

        await fs.writeFile(
          path.join(root, 'pgharden.yaml'),
          `db: ${url}\nmigrations:\n  dir: db/migrations\nlint:\n  exclude: [grant-to-public]\n`,
        );
        const up2 = await runCli(['migrate', 'up', '--json'], { cwd: nested });
        expect(up2.code, up2.stderr).toBe(0);
        expect(up2.json.steps.map((s: { migration: string }) => s.migration)).toEqual(['001_t']);
      });
    });
  });
});
