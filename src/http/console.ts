/**
 * The operator console's static files at `/admin/` (built by `npm run build:console` into
 * `dist/console/`). They hold no data, so they are served without the admin token; every call
 * detail comes from `/admin/api/*`, which needs it. Mounted only when `ADMIN_TOKEN` is set, and
 * before the API so that an asset request never meets the API's bearer check. The folder is
 * looked at per request: a console built after start-up is served without a restart.
 */
import { serveStatic } from '@hono/node-server/serve-static';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';

/** Only our own origin: no CDN, no inline script, no framing. Links to Jaeger are navigation. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const NOT_BUILT =
  'The operator console is not built. Run `npm run build:console` (or `npm run build`), then reload.\n';

/**
 * `dist/console` of the package this file belongs to, whether it runs from `src/` (tsx) or
 * from `dist/src/` (compiled): the nearest folder above holding a package.json.
 */
export function builtConsoleDir(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dist', 'console');
    if (dirname(dir) === dir) return join(from, 'dist', 'console');
  }
}

/** Adds `/admin` (redirect), `/admin/` and `/admin/assets/*` to `app`. */
export function mountConsole(app: Hono, dir: string): void {
  const headers = (c: { header(name: string, value: string): void }, cache: string) => {
    c.header('cache-control', cache);
    c.header('content-security-policy', CONTENT_SECURITY_POLICY);
    c.header('x-content-type-options', 'nosniff');
    c.header('referrer-policy', 'no-referrer');
  };
  const index = serveStatic({ root: dir, path: 'index.html' });

  app.get('/admin', (c) => c.redirect('/admin/', 308));
  app.get('/admin/', async (c, next) => {
    if (!existsSync(join(dir, 'index.html'))) return c.text(NOT_BUILT, 503);
    // the page names hashed assets, so it must never be cached past a rebuild
    headers(c, 'no-store');
    return index(c, next);
  });
  app.get('/admin/index.html', (c) => c.redirect('/admin/', 308));
  app.get(
    '/admin/assets/*',
    async (c, next) => {
      headers(c, 'public, max-age=31536000, immutable');
      await next();
    },
    serveStatic({ root: dir, rewriteRequestPath: (path) => path.replace(/^\/admin/, '') }),
    // not there (or a path serveStatic refuses): a plain 404 here, never the API's 401
    (c) => {
      c.header('cache-control', 'no-store');
      return c.text('No such console file.\n', 404);
    },
  );
}
