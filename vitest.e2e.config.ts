import { defineConfig } from 'vitest/config';
import { PACKAGE_SOURCES } from './vitest.packages.js';

// `npm run test:e2e`: traces through the real OpenTelemetry Collector into a real Jaeger, both
// built from source by the global setup (Go required: it fails, never skips, without it).
export default defineConfig({
  resolve: { alias: PACKAGE_SOURCES },
  test: {
    include: ['test/e2e/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts', 'test/e2e/tools-setup.ts'],
    pool: 'forks',
    // the two files each start their own Jaeger and collector; one at a time on a small machine
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 90_000,
    reporters: process.env.CI
      ? ['default', ['json', { outputFile: 'test-results/vitest-e2e.json' }]]
      : ['default'],
  },
});
