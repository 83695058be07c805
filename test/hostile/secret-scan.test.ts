/**
 * A full recorded call (simulator, ingress, workers, media process, Redis with a password in its
 * URL), plus a few refused requests, then a scan of everything it left behind: every log line
 * at trace level, every Redis value and BullMQ job of its prefix, every file of the recordings
 * directory, and every error body. None may contain a secret of the configuration, a webhook
 * token, a Graph token (any JWT at all), a media credential or a resume token.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { historyEntryJson } from '../../src/redis/history-codec.js';
import { snapshotJson } from '../../src/redis/snapshot-codec.js';
import { plainRedis, testRedisUrl } from '../helpers/redis.js';
import {
  BOT_APP_SECRET,
  callReaches,
  eventually,
  startSystem,
  type System,
} from '../helpers/system.js';

const ADMIN_TOKEN = 'scan-admin-token-0123456789abcdef';
const MEDIA_CREDENTIAL_SECRET = 'scan-media-credential-secret-0123456789abcdef';
const REDIS_PASSWORD = 'scan-redis-password-4f1a';
const JWT = /eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]+/;

const logLines: string[] = [];
let system: System;

beforeAll(async () => {
  const url = new URL(testRedisUrl());
  // the test Redis has no password; ioredis warns and goes on, which is all this needs
  url.password = REDIS_PASSWORD;
  system = await startSystem({
    name: 'hostile-scan',
    media: { inProcess: true },
    sim: { media: { enabled: true, paceMs: 10 } },
    env: { ADMIN_TOKEN, MEDIA_CREDENTIAL_SECRET, REDIS_URL: url.toString(), LOG_LEVEL: 'trace' },
    logger: createLogger(
      'scan',
      'trace',
      new Writable({
        write(chunk: Buffer, _enc, done) {
          logLines.push(chunk.toString());
          done();
        },
      }),
    ),
  });
});
afterAll(async () => {
  await system?.close();
});

/** A stored value as the product reads it: deflated snapshots and history entries inflated. */
function readable(value: string): string {
  const inflate = value.startsWith('z1:')
    ? snapshotJson
    : value.startsWith('h1:')
      ? historyEntryJson
      : undefined;
  if (!inflate) return value;
  try {
    return inflate(value);
  } catch {
    return value;
  }
}

async function redisValues(prefix: string): Promise<string[]> {
  const redis = plainRedis();
  const out: string[] = [];
  try {
    for (const pattern of [`${prefix}:*`, `{${prefix}-q}*`]) {
      for (const key of await redis.keys(pattern)) {
        const type = await redis.type(key);
        const value =
          type === 'string'
            ? await redis.getBuffer(key).then((b) => b?.toString('latin1'))
            : type === 'hash'
              ? Object.entries(await redis.hgetall(key)).map(([f, v]) => [f, readable(v)])
              : type === 'list'
                ? (await redis.lrange(key, 0, -1)).map(readable)
                : type === 'set'
                  ? await redis.smembers(key)
                  : type === 'zset'
                    ? await redis.zrange(key, '0', '-1', 'WITHSCORES')
                    : type === 'stream'
                      ? await redis.xrange(key, '-', '+')
                      : type;
        out.push(`${key} ${JSON.stringify(value)}`);
      }
    }
  } finally {
    await redis.quit();
  }
  return out;
}

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile())
      out.push((await readFile(join(entry.parentPath, entry.name))).toString('latin1'));
  }
  return out;
}

describe('nothing secret is left behind by a full call', () => {
  it('logs, Redis, jobs, manifests and error bodies hold no secret and no token', async () => {
    const tenantId = system.sim.defaultTenantId;
    const webhookToken = await system.sim.signToken({ tenantId });
    const call = await system.sim.placeCall({ kind: 'meeting' });
    await call.waitFor('established', 8000);
    await callReaches(system, call.id, 'recording', 8000);
    await eventually(() => (call.media?.welcome ? true : undefined), 8000, 'the media session');
    const credential = call.media?.blob?.credential;
    const resume = call.media?.welcome?.resume;
    expect(credential && resume).toBeTruthy();

    // refused requests carrying secrets in the places an attacker or a careless client would
    const errorBodies: string[] = [];
    const webhook = `${system.ingress.url}/api/calling`;
    for (const [url, init] of [
      [
        webhook,
        { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: '{}' },
      ],
      [
        webhook,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${webhookToken}`, 'content-type': 'text/plain' },
          body: BOT_APP_SECRET,
        },
      ],
      [
        webhook,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${webhookToken}`, 'content-type': 'application/json' },
          body: `{"value":[{"changeType":"${MEDIA_CREDENTIAL_SECRET}"}], "x": ${'['.repeat(100)}`,
        },
      ],
      [
        `${system.ingress.url}/admin/api/calls/${call.id}`,
        { headers: { authorization: `Bearer ${BOT_APP_SECRET}x` } },
      ],
      [
        `${system.ingress.url}/admin/api/calls/${call.id}`,
        { headers: { authorization: `Bearer ${webhookToken}` } },
      ],
      [`${system.ingress.url}/readyz`, {}],
    ] as Array<[string, RequestInit]>) {
      const res = await fetch(url, init);
      errorBodies.push(`${res.status} ${JSON.stringify([...res.headers])} ${await res.text()}`);
    }
    // the operator may read the call: what it shows is scanned too
    const operatorView = await fetch(`${system.ingress.url}/admin/api/calls/${call.id}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(operatorView.status).toBe(200);
    errorBodies.push(await operatorView.text());

    await new Promise((r) => setTimeout(r, 500));
    await call.hangUp();
    await callReaches(system, call.id, 'terminated', 8000).catch(() => undefined);
    const recordings = join(system.config.recordingsDir, call.id);
    await eventually(
      async () =>
        (await files(recordings).catch(() => [])).some((f) => f.includes('finalized'))
          ? true
          : undefined,
      10_000,
      'the recording to be finalized',
    );

    const corpus = {
      logs: logLines,
      redis: await redisValues(system.prefix),
      recordings: await files(system.config.recordingsDir),
      errorBodies,
    };
    // the scan sees what it should: the call in logs and Redis, a finalized manifest on disk
    for (const [where, texts] of Object.entries(corpus))
      expect(texts.length, where).toBeGreaterThan(0);
    for (const texts of [corpus.logs, corpus.redis])
      expect(texts.some((t) => t.includes(call.id))).toBe(true);
    expect(corpus.recordings.some((t) => t.includes('finalized'))).toBe(true);
    // deflated values are scanned inflated: the snapshot's context, the history's events
    expect(corpus.redis.some((t) => t.includes('\\"context\\":'))).toBe(true);
    expect(corpus.redis.some((t) => t.includes('{\\"seq\\":2,\\"event\\":\\"GRAPH.ANSWER'))).toBe(
      true,
    );
    expect(logLines.length).toBeGreaterThan(5);
    const secrets: Record<string, string> = {
      BOT_APP_SECRET,
      ADMIN_TOKEN,
      MEDIA_CREDENTIAL_SECRET,
      REDIS_PASSWORD,
      webhookToken,
      mediaCredential: credential!,
      resumeToken: resume!,
    };
    const found: string[] = [];
    for (const [where, texts] of Object.entries(corpus)) {
      for (const text of texts) {
        for (const [name, secret] of Object.entries(secrets)) {
          if (text.includes(secret)) found.push(`${name} in ${where}: ${text.slice(0, 300)}`);
        }
        if (JWT.test(text)) found.push(`a JWT in ${where}: ${text.slice(0, 300)}`);
      }
    }
    expect(found).toEqual([]);
  }, 60_000);
});
