/**
 * The ingress serves the operator console's built files at `/admin/` when the admin routes are
 * on: without the token (they hold no data), with a strict content security policy, a clear
 * 503 before it is built, a plain 404 (never the API's 401) for a missing asset, no way out of
 * its folder, and nothing at all when ADMIN_TOKEN is unset.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.js';
import { builtConsoleDir } from '../../src/http/console.js';
import { DEFAULT_POLICY } from '../../src/policy/policy.js';
import { fakeRuntime, fakeVerifier } from '../helpers/fakes.js';

const ADMIN = 'admin-secret-for-console';
let dir = '';

const build = (consoleDir: string, adminToken: string | null = ADMIN) =>
  createApp({
    runtime: fakeRuntime(),
    policy: DEFAULT_POLICY,
    answerDeadlineMs: 5000,
    callSettings: {
      keepAliveIntervalMs: 60_000,
      mediaArrivalTimeoutMs: 10_000,
      effectBudgetMs: 30_000,
    },
    rosterMode: 'full',
    verifier: fakeVerifier({}),
    maxBodyBytes: 4096,
    adminToken: adminToken ?? undefined,
    consoleDir,
    readiness: () => Promise.resolve({ ready: true, checks: {} }),
    logger: pino({ level: 'silent' }),
  });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cr-console-routes-'));
  await mkdir(join(dir, 'console', 'assets'), { recursive: true });
  await writeFile(join(dir, 'console', 'index.html'), '<!doctype html><title>console</title>');
  await writeFile(join(dir, 'console', 'assets', 'main-abc123.js'), 'console.log(1);');
  await writeFile(join(dir, 'secret.txt'), 'outside the console folder');
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('console files at /admin/', () => {
  it('serves the page and its assets without the token', async () => {
    const app = build(join(dir, 'console'));
    const page = await app.request('/admin/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(await page.text()).toContain('<title>console</title>');
    const asset = await app.request('/admin/assets/main-abc123.js');
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toContain('javascript');
    expect(asset.headers.get('cache-control')).toContain('immutable');
  });

  it('redirects /admin and /admin/index.html to /admin/', async () => {
    const app = build(join(dir, 'console'));
    for (const path of ['/admin', '/admin/index.html']) {
      const res = await app.request(path);
      expect(res.status).toBe(308);
      expect(res.headers.get('location')).toBe('/admin/');
    }
  });

  it('answers a missing asset 404 (not 401) and never leaves its folder', async () => {
    const app = build(join(dir, 'console'));
    const missing = await app.request('/admin/assets/nope.js');
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('No such console file');
    for (const path of [
      '/admin/assets/../../secret.txt',
      '/admin/assets/%2e%2e/%2e%2e/secret.txt',
      '/admin/assets/..%2f..%2fsecret.txt',
      '/admin/assets//etc/passwd',
    ]) {
      const res = await app.request(path);
      expect(res.status, path).not.toBe(200);
      expect(await res.text(), path).not.toContain('outside the console folder');
    }
  });

  it('says clearly when the console is not built', async () => {
    const app = build(join(dir, 'not-built'));
    const res = await app.request('/admin/');
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('npm run build:console');
  });

  it('is absent without ADMIN_TOKEN', async () => {
    const app = build(join(dir, 'console'), null);
    expect((await app.request('/admin/')).status).toBe(404);
    expect((await app.request('/admin')).status).toBe(404);
    expect((await app.request('/admin/assets/main-abc123.js')).status).toBe(404);
  });

  it('finds dist/console of this package by default', () => {
    expect(builtConsoleDir()).toBe(join(process.cwd(), 'dist', 'console'));
  });
});
