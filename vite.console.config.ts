// `npm run build:console`: the operator console (src/console) bundled into dist/console, served
// by the ingress at /admin/. Everything it needs is in the bundle: no CDN, no web fonts.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  root: here('./src/console'),
  base: '/admin/',
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: here('./dist/console'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // elkjs (the layout engine) is one large module, loaded only once a call is opened
    chunkSizeWarningLimit: 2500,
  },
});
