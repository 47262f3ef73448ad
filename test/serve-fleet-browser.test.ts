import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { quoteIdent } from '../src/pg/quote.js';
import { skipBrowser, withBrowserPage } from './browser.js';
import { CLI, sql, tempDir, testServers, uniqueName, urlFor, type TestServer } from './helpers.js';
import { stopServe } from './serve-helpers.js';

/**
 * The Fleet tab as a person sees it: `pgharden serve --control` in one process, a real `fleet run`
 * over five small databases (and one that does not exist) in another, headless Chromium on the page.
 * The waves show, the passed count climbs as targets finish, the failure shows with its reason, a
 * pause from a read-only dashboard is refused (403); with --allow-actions, Pause and Resume are
 * confirmed in the page and journaled with who asked.
 * PGHARDEN_SCREENSHOTS=docs refreshes docs/dashboard-fleet.png.
 */
const SHOTS = process.env.PGHARDEN_SCREENSHOTS ?? path.join(os.tmpdir(), 'pgharden-serve-screenshots');

const POLICY = `
settings:
  statement_timeout: 2s
  idle_in_transaction_session_timeout: 3s
connection_limit: 20
`;

/** The environment without libpq variables, plus the server's password (an inventory must not hold one). */
function cliEnv(server: TestServer): { env: Record<string, string>; bareUrl: string } {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^PG|^DATABASE_URL$/.test(k)) env[k] = v;
  const u = new URL(urlFor(server, 'postgres'));
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  u.password = '';
  return { env: { ...env, NO_COLOR: '1' }, bareUrl: u.toString() };
}

function spawnCli(args: string[], cwd: string, env: Record<string, string>) {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; out: string }>((resolve) => child.on('exit', (code) => resolve({ code, out })));
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', () => {
      const m = /(http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    void exited.then((e) => reject(new Error(`exited ${e.code}: ${e.out}`)));
  });
  url.catch(() => undefined);
  return { child, exited, url };
}

describe('the fleet panel in a browser', () => {
  const skip = skipBrowser;
  const [server] = testServers();
  let page: Page;
  withBrowserPage({ width: 1280, height: 1000 }, (p) => (page = p));

  it.skipIf(skip)(
    'follows a fleet rollout: waves, the passed count climbing, a failure with its reason; pause refused read-only, then paused and resumed with --allow-actions',
    async () => {
      const prefix = uniqueName('fleetui');
      const dbs = Array.from({ length: 5 }, (_, i) => `${prefix}_${i + 1}`);
      const control = `${prefix}ctl`; // outside the discover pattern `${prefix}\_%`
      for (const db of [...dbs, control]) await sql(server, `CREATE DATABASE ${quoteIdent(db)}`);
      const dir = await tempDir('pgharden-fleet-ui-');
      const { env, bareUrl } = cliEnv(server);
      const controlUrl = urlFor(server, control);
      let dash: ReturnType<typeof spawnCli> | null = null;
      let rollout: ReturnType<typeof spawnCli> | null = null;
      let acting: ReturnType<typeof spawnCli> | null = null;
      try {
        await fsp.writeFile(path.join(dir, 'policy.yaml'), POLICY);
        await fsp.writeFile(
          path.join(dir, 'fleet.yaml'),
          `name: ${prefix}\npolicy: policy.yaml\ndiscover: { server: "${bareUrl}", databases: "${prefix}\\\\_%" }\n` +
            // One target that cannot succeed (its database does not exist): a failure with its reason; max_failures 2 lets the rollout go on.
            `targets: ["${bareUrl.replace(/postgres$/, `${prefix}_missing`)}"]\n` +
            'waves: [1, 100%]\nconcurrency: 1\nmax_failures: 2\nprobes: false\nguard_window: 2s\n',
        );
        dash = spawnCli(
          ['serve', '--db', controlUrl, '--policy', path.join(dir, 'policy.yaml'), '--control', controlUrl, '--port', '0'],
          dir,
          { ...process.env, NO_COLOR: '1' } as Record<string, string>,
        );
        const base = await dash.url;
        await page.goto(`${base}#fleet`);
        await page.locator('#fleet-tab:not([hidden])').waitFor();

        rollout = spawnCli(['fleet', 'run', '--inventory', 'fleet.yaml', '--control', controlUrl, '--yes'], dir, env);
        // The plan appears by itself (the page polls): two waves, the canary first.
        await page.locator('#fleet-waves tr[data-wave="2"]').waitFor({ timeout: 60_000 });
        expect(await page.locator('#fleet-name').innerText()).toBe(prefix);
        expect(await page.locator('#fleet-waves tr[data-wave="1"] td').nth(2).innerText()).toBe('1');
        expect(await page.locator('#fleet-waves tr[data-wave="2"] td').nth(2).innerText()).toBe('5');
        expect(await page.locator('#fleet-targets tbody tr').count()).toBe(6);

        // The passed count climbs as targets finish, without a reload; the failed target shows with its reason.
        const passed = () => page.evaluate(() => Number(document.getElementById('fleet-count-passed')?.textContent ?? -1));
        await page.waitForFunction(() => Number(document.getElementById('fleet-count-passed')?.textContent) >= 1, undefined, {
          timeout: 60_000,
        });
        const first = await passed();
        await page.waitForFunction((n) => Number(document.getElementById('fleet-count-passed')?.textContent) > n, first, {
          timeout: 60_000,
        });
        const failure = page.locator('#fleet-failures li[data-target$="_missing"]');
        await failure.waitFor({ timeout: 60_000 });
        expect(await failure.innerText()).toMatch(/_missing wave \d, failed: .*does not exist/);
        expect(await page.locator('#fleet-count-failed').innerText()).toBe('1');
        expect(await page.locator('#fleet-waves tr[data-wave="1"]').getAttribute('data-state')).toBe('done');
        if ((await passed()) < 5) {
          // A rollout in progress, as the README shows it.
          await page
            .locator('#fleet-targets tr[data-state=running]')
            .waitFor({ timeout: 30_000 })
            .catch(() => undefined);
          fs.mkdirSync(SHOTS, { recursive: true });
          await page.screenshot({ path: path.join(SHOTS, 'dashboard-fleet.png'), fullPage: true });
        }

        // Read-only: no buttons, and the API refuses a pause.
        expect(await page.locator('#fleet-actions').innerText()).toMatch(/Read-only dashboard/);
        const refused = await page.request.post(`${base.replace(/\/?(\?.*)?$/, '')}/api/fleet/pause`, {
          headers: { 'content-type': 'application/json', 'x-pgharden-action': '1' },
          data: { by: 'Mallory', confirm: prefix },
        });
        expect(refused.status()).toBe(403);
        expect((await refused.json()).error).toMatch(/--allow-actions/);
        const journaled = () =>
          sql<{ kind: string; worker: string }>(
            server,
            `SELECT kind, worker FROM pgharden_fleet.events WHERE kind IN ('paused', 'resumed') ORDER BY id`,
            [],
            control,
          );
        expect(await journaled()).toEqual([]);

        // With --allow-actions: Pause, after a name prompt and a confirmation; the worker stops claiming and exits 130.
        acting = spawnCli(
          [
            'serve',
            '--db',
            controlUrl,
            '--policy',
            path.join(dir, 'policy.yaml'),
            '--control',
            controlUrl,
            '--port',
            '0',
            '--allow-actions',
          ],
          dir,
          { ...process.env, NO_COLOR: '1' } as Record<string, string>,
        );
        await page.goto(`${await acting.url}#fleet`);
        const dialogs: string[] = [];
        page.on('dialog', (d) => {
          dialogs.push(d.type());
          void (d.type() === 'prompt' ? d.accept('Jane DBA') : d.accept());
        });
        await page.locator('#fleet-pause-btn').click();
        await page.locator('#fleet-paused').waitFor({ timeout: 10_000 });
        expect(dialogs.slice(0, 2)).toEqual(['prompt', 'confirm']);
        expect(await page.locator('#fleet .meta').innerText()).toMatch(/paused by Jane DBA \(dashboard, from /);
        const paused = await rollout.exited;
        expect(paused.code, paused.out).toBe(130);
        expect(await journaled()).toEqual([
          { kind: 'paused', worker: expect.stringMatching(/^Jane DBA \(dashboard, from \S+, served by \S+\)$/) },
        ]);

        // Resume from the page, then a worker finishes the rollout: completed with the one failure.
        await page.locator('#fleet-resume-btn').click();
        await page.locator('#fleet-pause-btn').waitFor({ timeout: 10_000 });
        expect((await journaled()).map((e) => e.kind)).toEqual(['paused', 'resumed']);
        const rest = await spawnCli(['fleet', 'resume', '--inventory', 'fleet.yaml', '--control', controlUrl, '--yes'], dir, env).exited;
        expect(rest.code, rest.out).toBe(1);
        await page.locator('#fleet-status.completed').waitFor({ timeout: 30_000 });
        expect(await passed()).toBe(5);
        expect(await page.locator('#fleet-actions button').count()).toBe(0);
      } finally {
        if (rollout && rollout.child.exitCode === null) rollout.child.kill('SIGKILL');
        if (dash) await stopServe(dash.child);
        if (acting) await stopServe(acting.child);
        for (const db of [...dbs, control]) await sql(server, `DROP DATABASE IF EXISTS ${quoteIdent(db)} WITH (FORCE)`);
        await fsp.rm(dir, { recursive: true, force: true });
      }
    },
  );
});
