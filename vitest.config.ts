import { defineConfig } from 'vitest/config';
import { PACKAGE_SOURCES } from './vitest.packages.js';
import SlowFirstSequencer from './test/helpers/slow-first-sequencer.js';

/**
 * Three tiers, one `vitest run` (what `npm test` and CI run):
 * - unit: pure tests, no Redis, no child processes (`npm run test:unit`, seconds);
 * - integration: real Redis, BullMQ, TLS sockets and the simulator, in this process;
 * - system: several role processes, crashes and failover (`npm run test:system`).
 *
 * Most files wait on sockets, Redis and timers far more than they compute, so unit and
 * integration files run four at a time (vitest's default on two cores would be one). The system
 * files start process after process, and a process that starts slowly because the cores are
 * busy misses the deadlines those files assert: they run after the others, two at a time, and
 * the chaos burst last, alone (beside another system file it missed Teams' deadlines here).
 *
 * Unit, integration and system files share their worker's modules (`isolate: false`): evaluating the
 * same graph (ioredis, BullMQ, OpenTelemetry, the simulator) again for every file was most of
 * their CPU. Every file cleans up what it starts; the few that register process-wide telemetry
 * run isolated (project `isolated`).
 */
/** The chaos burst (200 calls, kill -9 of a replica and a worker): last, alone. */
const CHAOS = ['test/chaos/**/*.test.ts'];
const SYSTEM = [
  'test/integration/processes.test.ts',
  'test/integration/loadgen.test.ts',
  'test/integration/graceful-shutdown.test.ts',
  'test/integration/worker-failover.test.ts',
  'test/integration/outbox-recovery.test.ts',
  'test/integration/media-crash.test.ts',
  'test/integration/redis-cluster.test.ts',
];
/** Files that register process-wide OpenTelemetry providers: a fresh process each. */
const ISOLATED = [
  'test/unit/logger.test.ts',
  'test/telemetry/**/*.test.ts',
  'test/media/media-telemetry.test.ts',
];
/** Ends each run with each project's wall time and the slowest files. */
const TIMING = './test/helpers/timing-reporter.ts';
// the codec's tests are pure; the simulator's (packages/teams-simulator/test) are integration
const UNIT = ['test/unit/**/*.test.ts', 'packages/media-protocol/test/**/*.test.ts'];
// test/e2e needs Jaeger and the collector built from source: `npm run test:e2e`
const EXCLUDE = ['test/bench/**', 'test/e2e/**', 'node_modules/**'];
/** Files at once: unit and integration (one group), then system. */
const WORKERS = 4;
const SYSTEM_WORKERS = 2;

export default defineConfig({
  resolve: { alias: PACKAGE_SOURCES },
  test: {
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    sequence: { sequencer: SlowFirstSequencer },
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: process.env.CI
      ? ['default', TIMING, ['json', { outputFile: 'test-results/vitest.json' }]]
      : ['default', TIMING],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: UNIT,
          exclude: [...EXCLUDE, ...ISOLATED],
          maxWorkers: WORKERS,
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts', 'packages/teams-simulator/test/**/*.test.ts'],
          exclude: [...EXCLUDE, ...UNIT, ...SYSTEM, ...CHAOS, ...ISOLATED],
          maxWorkers: WORKERS,
          isolate: false,
        },
      },
      {
        extends: true,
        test: { name: 'isolated', include: ISOLATED, exclude: EXCLUDE, maxWorkers: WORKERS },
      },
      {
        extends: true,
        test: {
          name: 'system',
          include: SYSTEM,
          exclude: EXCLUDE,
          maxWorkers: SYSTEM_WORKERS,
          isolate: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'chaos',
          include: CHAOS,
          exclude: EXCLUDE,
          maxWorkers: 1,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
