import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { skipBrowser, withBrowserPage } from './browser.js';
import { CLI, policyFile, targetFor, tempDir, testServers, uniqueName, urlFor, withTestDatabase } from './helpers.js';
import { serve, stopServe } from './serve-helpers.js';

/**
 * The dashboard as a person sees it: `pgharden serve` in one process, a real `pgharden run` in
 * another, headless Chromium on the page. The stage marks tick, the guard charts gain points,
 * a long query during the window raises the long_query alert and it resolves, the outcome shows;
 * then the monitor and the history. PGHARDEN_SCREENSHOTS=docs refreshes the README's screenshots.
 */
const SHOTS = process.env.PGHARDEN_SCREENSHOTS ?? path.join(os.tmpdir(), 'pgharden-serve-screenshots');

const POLICY = `
settings:
  statement_timeout: 20s
  idle_in_transaction_session_timeout: 30s
  work_mem: 8MB
connection_limit: 20
alerts:
  long_query: { over: 1s, severity: critical }
  idle_in_transaction: { over: 2s, severity: warning }
  connections: { over: 80%, severity: info }
rollback_triggers:
  latency_degradation: 1000%   # a shared, loaded test machine: this test is about the page, not the trigger
`;

describe('the live dashboard in a browser', () => {
  const skip = skipBrowser;
  const [server] = testServers();
  let page: Page;
  withBrowserPage({ width: 1280, height: 1000 }, (p) => (page = p));

  it.skipIf(skip)(
    'follows a run from another process: stage marks, guard charts gaining points, an alert firing and resolving, the outcome; then monitor and history',
    async () => {
      await withTestDatabase(server, uniqueName('serve_ui'), async (db) => {
        const cwd = await tempDir();
        const policy = await policyFile(POLICY);
        const url = urlFor(server, db);
        // A session from before the change: the monitor must count it on the old settings.
        const old = new pg.Client({ ...targetFor(server, db).config, application_name: 'billing-worker' });
        old.on('error', () => undefined);
        await old.connect();
        const dash = await serve(['--db', url, '--policy', policy, '--port', '0'], cwd);
        const slow = new pg.Client({ ...targetFor(server, db).config, application_name: 'nightly-report' });
        slow.on('error', () => undefined);
        let runChild: ChildProcess | null = null;
        try {
          await page.goto(`${dash.url}#run`);
          await page.locator('#live.up').waitFor();

          const runDone = new Promise<{ code: number | null; out: string }>((resolve) => {
            runChild = spawn(
              process.execPath,
              [
                CLI,
                'run',
                '--db',
                url,
                '--policy',
                policy,
                '--yes',
                '--no-probes',
                '--window',
                '14s',
                '--interval',
                '500ms',
                '--load',
                '--load-sample',
                '1s',
                '--load-clients',
                '1',
                '--load-workload',
                'select',
                '--approved-by',
                'Jane DBA',
              ],
              { cwd, env: { ...process.env, NO_COLOR: '1' } },
            );
            let out = '';
            runChild.stdout!.on('data', (d) => {
              out += d;
            });
            runChild.stderr!.on('data', (d) => {
              out += d;
            });
            runChild.on('exit', (code) => resolve({ code, out }));
          });

          // The page switches to the new run by itself and ticks its stages.
          await page.locator('li[data-stage=preflight][data-state=ok]').waitFor({ timeout: 60_000 });
          expect(await page.locator('#outcome').innerText()).toBe('RUNNING');
          await page.locator('li[data-stage=apply][data-state=ok]').waitFor({ timeout: 60_000 });
          await page.locator('li[data-stage=guard][data-state=running]').waitFor({ timeout: 60_000 });
          expect(await page.locator('li[data-stage=verify]').getAttribute('data-state')).toBe('ok');

          // The charts draw sample by sample.
          const points = async () => Number(await page.locator('#chart-connections').getAttribute('data-points'));
          await page.waitForFunction(() => Number(document.getElementById('chart-connections')!.dataset.points) >= 1);
          const first = await points();
          await page.waitForFunction((n) => Number(document.getElementById('chart-connections')!.dataset.points) > n, first);
          expect(await page.locator('#chart-connections .limit-label').first().textContent()).toBe('limit 20');
          expect(await page.locator('#chart-failure .limit-label').textContent()).toMatch(/^trigger [\d.]+%$/);

          // A query past long_query (1 s) inside the window: the alert appears, then resolves when it ends.
          await slow.connect();
          const sleeping = slow.query('SELECT pg_sleep(4)');
          const alert = page.locator('#run-alerts li[data-rule=long_query]');
          await alert.waitFor({ timeout: 30_000 });
          expect(await alert.innerText()).toMatch(/critical long_query pid \d+ \(\S+, nightly-report\) query running for/);
          await page.waitForFunction(() => Number(document.getElementById('chart-p95')!.dataset.points) >= 1, undefined, {
            timeout: 30_000,
          });
          fs.mkdirSync(SHOTS, { recursive: true });
          await page.screenshot({ path: path.join(SHOTS, 'dashboard-run.png'), fullPage: true });
          await sleeping;
          await alert.waitFor({ state: 'detached', timeout: 30_000 });
          expect(await page.locator('#run-alerts li').innerText()).toBe('none firing');

          // The outcome, and the report link.
          const finished = await runDone;
          expect(finished.code, finished.out).toBe(0);
          await page.locator('#outcome.passed').waitFor({ timeout: 30_000 });
          expect(await page.locator('#outcome').innerText()).toBe('PASSED');
          expect(await page.locator('li[data-stage=guard]').getAttribute('data-state')).toBe('ok');
          await page.locator('#report-link').waitFor();
          const report = await page.request.get(`${dash.url.replace(/\/$/, '')}${await page.locator('#report-link').getAttribute('href')}`);
          expect(report.status()).toBe(200);
          expect(await report.text()).toMatch(/PASSED: the hardening is in force/);
          expect(await page.locator('#actions').innerText()).toMatch(/Read-only dashboard/);
          await page.screenshot({ path: path.join(SHOTS, 'dashboard-run-passed.png'), fullPage: true });

          // The monitor: the session from before the apply is on the old settings; a long query fires long_query.
          // The pre-apply session opens a transaction: it is listed (idle sessions are only counted).
          await old.query('BEGIN');
          await old.query('SELECT 1');
          const busy = slow.query('SELECT pg_sleep(3)');
          await page.goto(`${dash.url}#monitor`);
          await page.locator('#mon-alerts li[data-rule=long_query]').waitFor({ timeout: 30_000 });
          // billing-worker, and the sessions serve itself opened before the run's apply.
          expect(Number(await page.locator('#mon-old').innerText())).toBeGreaterThanOrEqual(1);
          await page.locator('#mon-old-table tbody tr', { hasText: 'billing-worker' }).waitFor({ timeout: 10_000 });
          await page.locator('#mon-alerts li[data-rule=idle_in_transaction]').waitFor({ timeout: 10_000 });
          expect(await page.locator('#mon-limit').innerText()).toMatch(/^of 20 \(database connection limit\)$/);
          expect(await page.locator('#mon-query-limit').innerText()).toBe('long_query alert over 1.0s');
          await page.screenshot({ path: path.join(SHOTS, 'dashboard-monitor.png'), fullPage: true });
          await busy;
          await page.locator('#mon-alerts li[data-rule=long_query]').waitFor({ state: 'detached', timeout: 30_000 });
          await old.query('ROLLBACK');
          await page.locator('#mon-alerts li.none').waitFor({ timeout: 30_000 });

          // History: the run with its outcome and report.
          await page.goto(`${dash.url}#history`);
          const row = page.locator('#history tbody tr').first();
          await row.waitFor();
          expect(await row.innerText()).toMatch(/\trun\tpassed\tpassed\t.*Jane DBA\treport$/);
        } finally {
          if (runChild && (runChild as ChildProcess).exitCode === null) (runChild as ChildProcess).kill('SIGKILL');
          await stopServe(dash.child);
          await slow.end().catch(() => undefined);
          await old.end().catch(() => undefined);
        }
      });
    },
  );
});
