import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';
import { migrationsFolder } from './migrate-helpers.js';

// `--json` means one JSON document with `ok` on stdout, whatever else the command prints (issue 11).
describe('--json: one document with ok on stdout', () => {
  it('alerts export --format prometheus-rules --json carries the rules as a string, not YAML on stdout', async () => {
    const r = await runCli(['alerts', 'export', '--format', 'prometheus-rules', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ ok: true, format: 'prometheus-rules', metrics: 'pgharden' });
    expect(r.json.rules).toMatch(/^groups:/m);
    // -o/--out as on report and render; the document then names the file.
    const file = path.join(os.tmpdir(), `pgharden-rules-${process.pid}.yaml`);
    const written = await runCli(['alerts', 'export', '--format', 'prometheus-rules', '-o', file, '--json']);
    expect(written.json).toMatchObject({ ok: true, output: file });
    expect(fs.readFileSync(file, 'utf8')).toBe(r.json.rules);
  });

  it('migrate lint --json --format github: the annotations go to stderr, stdout is the JSON document', async () => {
    const dir = await migrationsFolder({
      '001_x.sql': "ALTER DATABASE ${database} SET shared_buffers = '1GB';\n",
      '001_x_rollback.sql': 'SELECT 1;\n',
    });
    const r = await runCli(['migrate', 'lint', '--dir', dir, '--format', 'github', '--json']);
    expect(r.code).toBe(4);
    expect(r.json).toMatchObject({ ok: false });
    expect(r.json.errors).toBeGreaterThan(0);
    expect(r.stderr).toContain('::error file=');
    expect(r.stdout).not.toContain('::error');
  });

  it('verify --once and monitor --once --json have ok too, also when they cannot tell', async () => {
    for (const command of ['verify', 'monitor']) {
      const r = await runCli([command, '--once', '--json']);
      expect(r.code).toBe(3);
      expect(r.json).toMatchObject({ ok: false, status: 'UNKNOWN', exitCode: 3 });
    }
  });
});
