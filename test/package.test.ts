import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

const npm = (args: string[], cwd: string) =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 400_000 });

// The tarball holds what runs (the `files` field), and what it holds runs on its own.
describe('the npm package', () => {
  it('packs only dist, the policies and the README; installs into an empty folder; npx pgharden works', { timeout: 480_000 }, () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'pgharden-pack-'));
    // --ignore-scripts: `prepare` would rebuild; the suite has just built dist/.
    const [packed] = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', out], ROOT)) as {
      filename: string;
      files: { path: string }[];
    }[];
    const files = packed.files.map((f) => f.path);
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('policies/ticket-010.yaml');
    expect(files).toContain('policies/policy.schema.json');
    expect(files.filter((f) => !/^(dist\/.*\.js|policies\/[^/]+\.(yaml|json)|package\.json|README\.md)$/.test(f))).toEqual([]);

    const app = fs.mkdtempSync(path.join(os.tmpdir(), 'pgharden-install-'));
    fs.writeFileSync(path.join(app, 'package.json'), '{ "name": "empty", "private": true }\n');
    // Optional dependencies are the embedded server's binaries (tens of MB per platform): not needed to start.
    npm(['install', '--omit=optional', '--no-audit', '--no-fund', '--prefer-offline', path.join(out, packed.filename)], app);
    const npx = (args: string[]) => execFileSync('npx', ['--no-install', 'pgharden', ...args], { cwd: app, encoding: 'utf8' });
    const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
    expect(npx(['--version']).trim()).toBe(version);
    expect(npx(['policy', 'validate'])).toMatch(/policy ticket-010: valid offline/);
  });
});
