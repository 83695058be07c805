/**
 * What a media process's polls of its sessions' calls cost (B6's subject, measured apart): every
 * streaming session's call flags are read every 200 ms. `batch` reads them the way the media
 * server does, all sessions in one pipeline per tick (`MediaSessionStore.callStates`); `single`
 * the way it did before, one HMGET per session on the session's own timer. Reported: the
 * client's CPU and the Redis server's (`INFO cpu`) per second, on a private redis-server.
 *
 *   npx tsx test/bench/b6-poll-cost.ts [sessions=1000] [batch|single] [seconds=5]
 */
import { Redis } from 'ioredis';
import { startPrivateRedis } from '../../src/dev/local-redis.js';
import { createMediaSessionStore } from '../../src/media/session-store.js';
import { PERSIST_POLL_MS } from '../../src/media/session.js';
import { callKeys } from '../../src/redis/keys.js';

const sessions = Number(process.argv[2] ?? 1000);
const mode = process.argv[3] ?? 'batch';
const seconds = Number(process.argv[4] ?? 5);
if (!Number.isInteger(sessions) || sessions < 1 || !['batch', 'single'].includes(mode)) {
  throw new Error('usage: b6-poll-cost.ts [sessions] [batch|single] [seconds]');
}
const prefix = 'b6-poll';
const server = await startPrivateRedis();
const redis = new Redis(server.url);
const store = createMediaSessionStore(redis, prefix);
const ids = Array.from({ length: sessions }, (_, i) => `call-${i}`);
for (const id of ids) await redis.hset(callKeys(prefix, id).call, { v: '3', persist: '1' });

async function redisCpuSeconds(): Promise<number> {
  const text = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`${name}:([0-9.]+)`).exec(text)?.[1] ?? NaN);
  return field('used_cpu_sys') + field('used_cpu_user');
}

const redisBefore = await redisCpuSeconds();
const clientBefore = process.cpuUsage();
let reads = 0;
const timers: NodeJS.Timeout[] = [];
if (mode === 'batch') {
  const polls = ids.map((callId) => ({ callId, sinceVersion: 3 }));
  const tick = async () => (reads += (await store.callStates(polls)).length);
  timers.push(setInterval(() => void tick(), PERSIST_POLL_MS));
} else {
  // each session's timer started when its session did: spread over the interval
  ids.forEach((callId, i) => {
    const tick = async () => (await store.callState(callId, 3), (reads += 1));
    const start = setTimeout(
      () => timers.push(setInterval(() => void tick(), PERSIST_POLL_MS)),
      (i * PERSIST_POLL_MS) / sessions,
    );
    timers.push(start);
  });
}
await new Promise((r) => setTimeout(r, seconds * 1000));
for (const t of timers) clearInterval(t);
await new Promise((r) => setTimeout(r, PERSIST_POLL_MS));
const client = process.cpuUsage(clientBefore);
const redisCpu = (await redisCpuSeconds()) - redisBefore;
console.log(
  `${mode}: ${sessions} sessions, ${reads} reads in ${seconds} s; CPU per second: client ` +
    `${((client.user + client.system) / 1000 / seconds).toFixed(1)} ms, ` +
    `redis ${((redisCpu * 1000) / seconds).toFixed(1)} ms`,
);
await redis.quit();
await server.stop();
