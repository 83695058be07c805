/**
 * What one event costs the process that applies it (part of B1's ingress and worker CPU,
 * measured apart): B3's call lives, one event after another, through `applyEvent` on the
 * runtime as the roles compose it, against real Redis (TEST_REDIS_URL or 127.0.0.1:6379, a
 * key prefix of its own, removed at the end). Prints this process's CPU per event after a
 * warm-up of 500 calls.
 *
 *   npx tsx test/bench/apply-cost.ts [calls=2000]
 *
 * CPU time moves with whatever else the machine does. For a figure that does not, run it under
 * callgrind, which counts the instructions executed (V8's compiled code included) and is
 * repeatable for the same build and input; compare two builds by its "Collected" total:
 *
 *   valgrind --tool=callgrind --callgrind-out-file=/dev/null \
 *     node --import tsx test/bench/apply-cost.ts 200 100
 *
 * (the second number shortens the warm-up; under callgrind each event takes about 60 ms).
 *
 * The OpenTelemetry SDK starts from the `OTEL_*` variables as in every role process (off
 * without them), so the same count with them set is what telemetry costs per event (B9's
 * CPU, measured apart): e.g. `OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318
 * OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=1` with a receiver
 * there (`test/bench/b9-otlp-receiver.ts`). The SDK exports from this process, so its
 * batching and encoding are counted; the receiver's work is not.
 */
import { Redis } from 'ioredis';
import { connectRedis } from '../../src/redis/client.js';
import { startTelemetry } from '../../src/telemetry/sdk.js';
import { deleteByPrefix, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { benchRuntime, life } from './b3-redis-cost.js';

const [calls, warmCalls] = [Number(process.argv[2] ?? 2000), Number(process.argv[3] ?? 500)];
if (!Number.isInteger(calls) || calls < 1 || !Number.isInteger(warmCalls) || warmCalls < 0) {
  throw new Error('usage: apply-cost.ts [calls] [warm-up calls]');
}
// first, as in a role process: instruments bind to the provider there when they are created
const telemetry = startTelemetry({ role: 'apply-cost' });
const prefix = uniquePrefix('apply-cost');
// the runtime's connection fails commands instead of queueing them (as in src/roles/core.ts),
// its command timeout long enough for callgrind's pace (a timer per command either way)
const redis = connectRedis(testRedisUrl(), {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeoutMs: 60_000,
}) as Redis;
const queueConnection = connectRedis(testRedisUrl()) as Redis;
if (redis.status !== 'ready') await new Promise((r) => redis.once('ready', r));
const { store, queues, runtime } = benchRuntime(redis, queueConnection, prefix);

async function play(phase: string, n: number): Promise<number> {
  const from = process.cpuUsage();
  for (let c = 0; c < n; c += 1) {
    const callId = `${prefix}-${phase}-${c}`;
    for (const { event, job } of life(callId)) {
      const result = await runtime.applyEvent(callId, event, {
        dedupId: job ? `job-${callId}-${event.type}` : `n-${callId}-${event.type}`,
      });
      if (result.outcome !== 'committed') throw new Error(`${event.type}: ${result.outcome}`);
    }
  }
  const used = process.cpuUsage(from);
  return (used.user + used.system) / (n * life('x').length);
}

try {
  await play('warm', warmCalls);
  const perEvent = await play('run', calls);
  console.log(
    `${calls} calls × ${life('x').length} events, one after another: ${perEvent.toFixed(0)} µs of CPU per event` +
      ` (telemetry ${telemetry.enabled ? 'on' : 'off'})`,
  );
} finally {
  await store.flushAcks();
  await queues.close();
  const cleaner = new Redis(testRedisUrl());
  await deleteByPrefix(cleaner, prefix);
  await Promise.all([cleaner, redis, queueConnection].map((c) => c.quit()));
  await telemetry.shutdown();
}
