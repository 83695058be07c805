/**
 * The console's own behaviour in a real browser, against a stand-in of the operator API whose
 * event stream the test controls (test/helpers/admin-api-fake.ts; the real API is driven by
 * console.test.ts): a dropped stream is resumed with `Last-Event-ID` and the transitions sent
 * meanwhile appear; a step links to its trace in Jaeger; a token refused mid-session signs the
 * operator out; everything reachable by keyboard.
 */
import { rm } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAdminApi, type FakeAdminApi } from '../helpers/admin-api-fake.js';
import {
  buildConsole,
  openConsoleBrowser,
  waitForCurrent,
  type ConsoleBrowser,
} from '../helpers/console-browser.js';

const TOKEN = 'fake-admin-token-0123456789';
const CALL = '0c0ffee0-1111-4222-8333-444455556666';
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

let api: FakeAdminApi;
let browser: ConsoleBrowser;
let consoleDir = '';
let page: Page;

beforeAll(async () => {
  consoleDir = await buildConsole();
  api = await startFakeAdminApi(TOKEN, consoleDir);
  browser = await openConsoleBrowser();
  page = browser.page;
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await api?.close();
  if (consoleDir) await rm(consoleDir, { recursive: true, force: true });
});

const eventRequests = () => api.requests.filter((r) => r.url.includes('/admin/api/events'));

describe('operator console against a controlled event stream', () => {
  it('signs in with the keyboard only', async () => {
    await page.goto(`${api.url}/admin/`);
    // the token field has focus on arrival; Enter submits
    await page.keyboard.type(TOKEN);
    await page.keyboard.press('Enter');
    await page.locator('#stream-status.live').waitFor({ timeout: 10_000 });
    expect(eventRequests()[0]?.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('resumes a dropped stream after the last event it saw', async () => {
    api.transition(CALL, 'CALL.INCOMING', 'incoming');
    api.transition(CALL, 'VERDICT', 'answering', true, TRACE);
    const row = page.locator(`#calls-body tr[data-call-id="${CALL}"]`);
    await row.waitFor({ timeout: 5000 });
    // Tab reaches the row (filters first), Enter opens it
    await page.locator('#filter-failed').focus();
    await page.keyboard.press('Tab');
    expect(await page.evaluate("document.activeElement?.getAttribute('data-call-id')")).toBe(CALL);
    await page.keyboard.press('Enter');
    await waitForCurrent(page, 'answering');

    api.dropStreams();
    await page.locator('#stream-status.reconnecting').waitFor({ timeout: 5000 });
    // sent while the console is away: only a resumed stream delivers them
    api.transition(CALL, 'GRAPH.ANSWER_ACCEPTED', 'live.answered');
    api.transition(CALL, 'CALL.ESTABLISHED', 'live.established.awaitingMedia');
    await waitForCurrent(page, 'live.established.awaitingMedia', 10_000);
    const resumed = eventRequests().at(-1);
    expect(resumed?.lastEventId).toBe('2');
    expect(await page.locator('#step-title').innerText()).toBe('Step 4 of 4');
  });

  it('links a step to its trace in Jaeger', async () => {
    await page.locator('ol.steps button').nth(1).click();
    const link = page.getByRole('link', { name: 'Trace of step 2 in Jaeger' });
    expect(await link.getAttribute('href')).toBe(`http://127.0.0.1:16686/trace/${TRACE}`);
    expect(await link.getAttribute('rel')).toContain('noopener');
    // stepped back: a new step does not pull the view forward
    api.transition(CALL, 'MEDIA.FLOWING', 'live.established.startingRecording');
    await page.locator('#step-title', { hasText: 'of 5' }).waitFor({ timeout: 5000 });
    expect(await page.locator('#step-title').innerText()).toBe('Step 2 of 5');
    await page.keyboard.press('End');
    await waitForCurrent(page, 'live.established.startingRecording');
  });

  it('signs out when the token is refused mid-session', async () => {
    api.setToken('another-token-entirely-0000');
    api.dropStreams();
    await page.locator('#sign-in-error', { hasText: 'refused' }).waitFor({ timeout: 10_000 });
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    expect(await page.locator('#workspace').isHidden()).toBe(true);
    for (const url of browser.requested) expect(url).not.toContain(TOKEN);
  });
});
