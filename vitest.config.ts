import { defineConfig } from 'vitest/config';

/**
 * Three tiers, one `vitest run` (what `npm test` and CI run):
 * - unit: pure tests, no Redis, no child processes (`npm run test:unit`, seconds);
 * - integration: real Redis, BullMQ, TLS sockets and the simulator, in this process;
 * - system: several role processes, crashes and failover (`npm run test:system`).
 */
const SYSTEM = [
  'test/chaos/**/*.test.ts',
  'test/integration/processes.test.ts',
  'test/integration/loadgen.test.ts',
  'test/integration/graceful-shutdown.test.ts',
  'test/integration/worker-failover.test.ts',
  'test/integration/outbox-recovery.test.ts',
  'test/integration/media-crash.test.ts',
  'test/integration/redis-cluster.test.ts',
];
/** Ends each run with each project's wall time and the slowest files. */
const TIMING = './test/helpers/timing-reporter.ts';
const UNIT = ['test/unit/**/*.test.ts', 'test/media/protocol/**/*.test.ts'];
// test/e2e needs Jaeger and the collector built from source: `npm run test:e2e`
const EXCLUDE = ['test/bench/**', 'test/e2e/**', 'node_modules/**'];

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: process.env.CI
      ? ['default', TIMING, ['json', { outputFile: 'test-results/vitest.json' }]]
      : ['default', TIMING],
    projects: [
      { extends: true, test: { name: 'unit', include: UNIT, exclude: EXCLUDE } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: [...EXCLUDE, ...UNIT, ...SYSTEM],
        },
      },
      { extends: true, test: { name: 'system', include: SYSTEM, exclude: EXCLUDE } },
    ],
  },
});
