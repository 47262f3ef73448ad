import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { skipWithout } from './helpers.js';

/** Debian's Chromium (`apt-get install chromium`; .ci/run installs it), or CHROMIUM_PATH. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Only a developer's machine skips the browser tests: in CI a missing browser fails the launch. */
export const skipBrowser = skipWithout(fs.existsSync(CHROMIUM));

/** Headless Chromium as the browser tests use it: no sandbox (root in CI), no network chatter. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
}

/** A describe block's page: Chromium is launched before its tests and closed after them (nothing when skipped). */
export function withBrowserPage(viewport: { width: number; height: number }, use: (page: Page) => void): void {
  let browser: Browser | undefined;
  beforeAll(async () => {
    if (skipBrowser) return;
    browser = await launchChromium();
    use(await browser.newPage({ viewport }));
  });
  afterAll(async () => browser?.close());
}
