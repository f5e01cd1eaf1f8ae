// Debian's Chromium (/usr/bin/chromium, installed by tools/lab/horizon.sh up) driven by
// playwright-core for the browser tests: headless, a fresh profile per launch, the flags this
// closed network needs, and every Chromium process killed when the test file's worker exits,
// however it exits (each of them carries the profile directory on its command line:
// test/helpers/reap.ts finds them by it). Playwright's own browser download is never used.
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BrowserContext, Page } from 'playwright-core';
import { killUnder, processesUnder, reapOnExit } from './reap.js';

export const CHROMIUM = '/usr/bin/chromium';

/**
 * With Playwright's --headless (headless: true): no sandbox (the tests run as root), no GPU, and
 * no connection of Chromium's own (QUIC, background networking, component updates, sync): this
 * network refuses them, and a refused one stalls the browser.
 */
export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Why Chromium cannot be launched, or undefined. */
export function chromiumMissing(): string | undefined {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return undefined;
  } catch {
    return `${CHROMIUM} is not installed`;
  }
}

export interface Chromium {
  context: BrowserContext;
  page: Page;
  profileDir: string;
  /** pids of its processes still running */
  processes(): number[];
  /** closes the browser, kills what is left of it, removes the profile; safe to call twice */
  close(): Promise<void>;
}

/** Launches Chromium with a fresh profile; a page is open, with `timeoutMs` for each action and navigation. */
export async function launchChromium(o: { timeoutMs?: number } = {}): Promise<Chromium> {
  // loaded here, not at import: playwright-core takes about 2 s to load, which the HTTP-level
  // Horizon test (importing chromiumMissing through horizon.ts) need not pay
  const { chromium } = await import('playwright-core');
  const profileDir = mkdtempSync(path.join(tmpdir(), 'trove-chromium-'));
  reapOnExit(profileDir);
  let context: BrowserContext;
  try {
    // the profile directory becomes Chromium's --user-data-dir
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1280, height: 900 },
    });
  } catch (err) {
    await killUnder(profileDir, 2000);
    rmSync(profileDir, { recursive: true, force: true });
    throw err;
  }
  context.setDefaultTimeout(o.timeoutMs ?? 60_000);
  context.setDefaultNavigationTimeout(o.timeoutMs ?? 60_000);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    profileDir,
    processes: () => processesUnder(profileDir),
    async close() {
      // a wedged browser does not hold the test up: what is left after 15 s is killed
      await Promise.race([context.close().catch(() => undefined), sleep(15_000, undefined, { ref: false })]);
      await killUnder(profileDir, 2000);
      rmSync(profileDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    },
  };
}
