/**
 * Headless Chromium for the operator console's browser tests: Debian's /usr/bin/chromium (or
 * CHROMIUM_PATH), a fresh profile per browser, nothing fetched from outside, a laptop-sized
 * window; and the console built by Vite into a folder of the test's own.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';

export interface ConsoleBrowser {
  context: BrowserContext;
  page: Page;
  /** Every URL the page requested (the token must never be in one). */
  requested: string[];
  close(): Promise<void>;
}

/** A laptop screen (the console must be readable at this size). */
export const LAPTOP = { width: 1366, height: 768 };

/**
 * Debian's Chromium, headless, with a fresh profile in `userDataDir` (a persistent context is how
 * playwright takes --user-data-dir) and without the background connections this machine's closed
 * network refuses.
 */
export function launchChromium(
  userDataDir: string,
  viewport: { width: number; height: number },
): Promise<BrowserContext> {
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    viewport,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export async function openConsoleBrowser(): Promise<ConsoleBrowser> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'cr-console-chromium-'));
  const context = await launchChromium(userDataDir, LAPTOP);
  const page = context.pages()[0] ?? (await context.newPage());
  const requested: string[] = [];
  page.on('request', (r) => requested.push(r.url()));
  return {
    context,
    page,
    requested,
    close: async () => {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/** `vite build` of the console into a temporary folder; returns it (delete it when done). */
export async function buildConsole(): Promise<string> {
  const outDir = await mkdtemp(join(tmpdir(), 'cr-console-build-'));
  await build({
    configFile: 'vite.console.config.ts',
    logLevel: 'error',
    build: { outDir, emptyOutDir: true },
  });
  return outDir;
}

/** The dotted path of the state highlighted as current in the diagram. */
export async function currentState(page: Page): Promise<string | null> {
  return page
    .locator('svg.machine .state.current')
    .first()
    .getAttribute('data-state', { timeout: 1000 })
    .catch(() => null);
}

/** Waits until the diagram highlights `state` as current. */
export async function waitForCurrent(page: Page, state: string, timeoutMs = 15_000): Promise<void> {
  await page
    .locator(`svg.machine .state.current[data-state="${state}"]`)
    .waitFor({ timeout: timeoutMs });
}
