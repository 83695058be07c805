/**
 * The operator console in a real browser against the real system: the ingress (serving the
 * console and the operator API), the BullMQ workers and the media role on a test Redis prefix,
 * and the simulator playing Teams. Signs in, watches a call appear live, follows it to
 * `recording` and `terminated` in the diagram, steps back through its history, opens a call
 * whose answer Graph refused and reads why; takes the screenshots in docs/.
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildConsole,
  currentState,
  openConsoleBrowser,
  waitForCurrent,
  type ConsoleBrowser,
} from '../helpers/console-browser.js';
import { startSystem, type System } from '../helpers/system.js';

const TOKEN = `console-e2e-${randomUUID()}`;
const JAEGER_UI = 'http://127.0.0.1:16686';

let system: System;
let browser: ConsoleBrowser;
let consoleDir = '';
let page: Page;
let base = '';
/** The call followed to `terminated` (it ended well). */
let followed = '';

beforeAll(async () => {
  consoleDir = await buildConsole();
  system = await startSystem({
    name: 'e2e-console',
    media: { inProcess: true },
    sim: { media: { enabled: true, paceMs: 10 } },
    env: { ADMIN_TOKEN: TOKEN, CONSOLE_DIR: consoleDir, JAEGER_UI_URL: JAEGER_UI },
  });
  base = system.ingress.url;
  browser = await openConsoleBrowser();
  page = browser.page;
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await system?.close();
  if (consoleDir) await rm(consoleDir, { recursive: true, force: true });
});

const row = (callId: string) => page.locator(`#calls-body tr[data-call-id="${callId}"]`);
const stepText = () => page.locator('#step-title').innerText();

describe('operator console', () => {
  it('serves the console at /admin/ without the token, the API only with it', async () => {
    const redirect = await fetch(`${base}/admin`, { redirect: 'manual' });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('/admin/');
    const index = await fetch(`${base}/admin/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await index.text();
    expect(html).toContain('Admin token');
    // offline: nothing referenced from another origin
    expect(html).not.toMatch(/(src|href)="https?:/);
    expect((await fetch(`${base}/admin/api/calls`)).status).toBe(401);
    // the operator API the console reads is there (with the token)
    const config = await fetch(`${base}/admin/api/config`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(config.status, 'GET /admin/api/config with the token').toBe(200);
    expect(((await config.json()) as { jaegerUiUrl?: string }).jaegerUiUrl).toBe(JAEGER_UI);
  });

  it('signs in and follows a call live to recording, then terminated; steps back', async () => {
    await page.goto(`${base}/admin`);
    expect(page.url()).toBe(`${base}/admin/`);
    await page.getByLabel('Admin token').fill('not-the-token-at-all');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#sign-in-error').innerText()).toContain('refused');
    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#stream-status.live').waitFor({ timeout: 10_000 });

    // placed after sign-in: they can only show up through the live event stream
    const short = await system.sim.placeCall({ kind: 'meeting', holdMs: 300 });
    const call = await system.sim.placeCall({ kind: 'p2p', media: true });
    followed = call.id;
    await row(short.id).waitFor({ timeout: 10_000 });
    await row(call.id).waitFor({ timeout: 10_000 });
    await row(call.id).focus();
    await page.keyboard.press('Enter');
    await waitForCurrent(page, 'live.established.recording', 20_000);
    expect(await row(call.id).getAttribute('aria-current')).toBe('true');
    await expect.poll(() => row(call.id).locator('td.state').innerText()).toBe('recording');
    // the path taken is marked on the diagram: edges with their events
    expect(await page.locator('svg.machine .edge.taken').count()).toBeGreaterThan(2);
    expect(await page.locator('svg.machine .state.visited').count()).toBeGreaterThan(4);
    await page.screenshot({ path: 'docs/console-live.png' });

    await call.hangUp();
    await waitForCurrent(page, 'terminated', 15_000);
    await expect.poll(() => row(call.id).locator('td.state').innerText()).toBe('terminated');
    const [, last, total] = /Step (\d+) of (\d+)/.exec(await stepText()) ?? [];
    expect(last).toBe(total);
    expect(await page.locator('#step-to').innerText()).toBe('terminated');

    // back through the history with the arrow keys, from the step list
    await page.locator('ol.steps button[aria-current="step"]').focus();
    for (
      let i = 0;
      i < Number(total) && (await currentState(page)) !== 'live.established.recording';
      i++
    )
      await page.keyboard.press('ArrowLeft');
    expect(await currentState(page)).toBe('live.established.recording');
    // and a screen reader hears where it is
    expect(await page.locator('#announce').textContent()).toContain(
      'to live.established.recording',
    );
    const back = /Step (\d+) of (\d+)/.exec(await stepText());
    expect(Number(back?.[1])).toBeLessThan(Number(total));
    // focus followed the step
    const focused = await page.evaluate("document.activeElement?.getAttribute('aria-current')");
    expect(focused).toBe('step');
    expect(await page.locator('#step-time').innerText()).toMatch(/^\+\d/);
    // buttons too: one back, one forward
    const before = await page.locator('#step-event').innerText();
    await page.getByRole('button', { name: /Previous/ }).click();
    expect(await page.locator('#step-event').innerText()).not.toBe(before);
    await page.getByRole('button', { name: /Next/ }).click();
    expect(await page.locator('#step-event').innerText()).toBe(before);
    await page.screenshot({ path: 'docs/console-history.png' });
  }, 60_000);

  it('shows why a call failed (Graph refused the answer)', async () => {
    const callId = randomUUID();
    system.sim.addFault({ route: 'answer', status: 403, times: Infinity, callId });
    await page.getByLabel('failed only').check();
    await system.sim.placeCall({ kind: 'meeting', callId });
    await row(callId).waitFor({ timeout: 15_000 });
    // only failed calls are listed (the followed call, which ended well, is not)
    const rows = await page.locator('#calls-body tr').all();
    const listed = await Promise.all(rows.map((r) => r.getAttribute('data-call-id')));
    expect(listed).toContain(callId);
    expect(listed).not.toContain(followed);
    for (const r of rows) expect(await r.locator('td').last().innerText()).toBe('failed');
    await row(callId).click();
    await waitForCurrent(page, 'failed', 10_000);
    const why = await page.locator('#failure').innerText();
    expect(why).toContain('Why it failed');
    expect(why).toContain('403');
    await page.screenshot({ path: 'docs/console-failed.png' });
  }, 40_000);

  it('keeps the token out of URLs and out of storage after sign-out', async () => {
    expect(await page.evaluate('Object.keys(localStorage).length')).toBe(0);
    expect(await page.evaluate('Object.values(sessionStorage)')).toContain(TOKEN);
    for (const url of browser.requested) expect(url).not.toContain(TOKEN);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin token').waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    expect(await page.locator('#workspace').isHidden()).toBe(true);
  });
});
