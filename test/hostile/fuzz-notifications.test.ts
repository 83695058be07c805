/**
 * fast-check fuzzing of notification bodies under valid tokens, through `app.request()` on the
 * real runtime and Redis: whatever the body, the answer is never a 5xx, nothing throws, nothing
 * is logged at error level, and a refused body writes nothing (no key, no job, no version).
 * `HOSTILE_FUZZ_RUNS` sets the number of cases, `HOSTILE_SEED` replays a failure (the seed is
 * printed with it), `HOSTILE_SOAK=1` runs fifty thousand.
 */
import fc from 'fast-check';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTeamsTokenVerifier } from '../../src/http/teams-auth.js';
import { plainRedis } from '../helpers/redis.js';
import { systemApp } from '../helpers/system-app.js';
import { startSystem, type System } from '../helpers/system.js';
import {
  AUDIENCE,
  ISSUER,
  claims,
  sign,
  startKeyServer,
  type KeyServer,
} from '../helpers/key-server.js';

const TENANT = '0f1e2d3c-4b5a-4968-8776-655443322110';
const RUNS = Number(
  process.env.HOSTILE_FUZZ_RUNS ?? (process.env.HOSTILE_SOAK === '1' ? 50_000 : 2000),
);
const SEED = process.env.HOSTILE_SEED ? Number(process.env.HOSTILE_SEED) : undefined;
const CALL_IDS = ['fz-1', 'fz-2', 'fz-3'];
const notSwept = (key: string) => !key.endsWith(':outbox-pending');

let keys: KeyServer;
let system: System;
let token: string;
const errorLines: string[] = [];

beforeAll(async () => {
  keys = await startKeyServer();
  system = await startSystem({ name: 'hostile-fuzz', withWorkers: false });
  token = await sign(keys.current, claims(TENANT));
});
afterAll(async () => {
  await system?.close();
  await keys?.close();
});

const callId = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...CALL_IDS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom('%E0%A4%A', '%', 'a}b{c', '..', 'x'.repeat(300)) },
);
const resourceUrl = fc.oneof(
  callId.map((id) => `/communications/calls/${id}`),
  callId.map((id) => `/app/calls/${id}`),
  callId.map((id) => `/communications/calls/${id}/participants`),
  callId.map((id) => `/communications/calls/${id}/operations/op-1`),
  fc.string({ maxLength: 80 }),
);
const changeType = fc.oneof(
  fc.constantFrom('created', 'updated', 'deleted', 'Updated', 'DELETED'),
  fc.string({ maxLength: 12 }),
);
const state = fc.oneof(
  fc.constantFrom('incoming', 'establishing', 'established', 'terminating', 'terminated'),
  fc.jsonValue({ maxDepth: 1 }),
);
const id = fc.oneof(fc.uuid(), fc.string({ maxLength: 20 }), fc.constant('u'.repeat(1000)));
const callData = fc.record(
  {
    '@odata.type': fc.constant('#microsoft.graph.call'),
    state,
    direction: fc.constantFrom('incoming', 'outgoing'),
    callChainId: id,
    myParticipantId: id,
    tenantId: fc.oneof(fc.constant(TENANT), id),
    chatInfo: fc.record({ threadId: fc.oneof(id, fc.constant('19:meeting_x@thread.v2')) }),
    source: fc.record({ identity: fc.record({ user: fc.record({ id, tenantId: id }) }) }),
    applicationMetadata: fc.jsonValue({ maxDepth: 3 }),
    resultInfo: fc.record({
      code: fc.oneof(fc.integer(), fc.string({ maxLength: 20 })),
      message: fc.string({ maxLength: 100 }),
    }),
    extra: fc.jsonValue({ maxDepth: 4 }),
  },
  { requiredKeys: [] },
);
const participant = fc.record(
  {
    id: fc.oneof(id, fc.jsonValue({ maxDepth: 1 })),
    info: fc.record({
      identity: fc.dictionary(
        fc.constantFrom('user', 'guest', 'phone', 'application', 'x'),
        fc.record({ id, displayName: fc.string({ maxLength: 10 }) }),
      ),
    }),
    isMuted: fc.oneof(fc.boolean(), fc.jsonValue({ maxDepth: 0 })),
    mediaStreams: fc.array(
      fc.record({ mediaType: fc.constantFrom('audio', 'video', 'x'), sourceId: id }),
      { maxLength: 4 },
    ),
  },
  { requiredKeys: [] },
);
const resourceData = fc.oneof(
  callData,
  fc.array(participant, { maxLength: 5 }),
  fc.jsonValue({ maxDepth: 4 }),
);
const notification = fc.record(
  { changeType, resourceUrl, resource: resourceUrl, resourceData },
  { requiredKeys: ['changeType'] },
);
const deep = fc
  .integer({ min: 20, max: 3000 })
  .map(
    (n) => `{"value":[{"changeType":"created","resourceData":${'['.repeat(n)}${']'.repeat(n)}}]}`,
  );
const body = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.array(notification, { maxLength: 4 }).map((value) => JSON.stringify({ value })),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 5 }).map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: deep },
);
const contentType = fc.oneof(
  { weight: 10, arbitrary: fc.constant('application/json') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'application/json-patch+xml',
      'application/merge-patch+json',
      'text/plain',
      '',
    ),
  },
);

describe('fuzzed notifications under a valid token', () => {
  it(`never answer 5xx nor write anything when refused (${RUNS} cases)`, async () => {
    const logger = pino(
      { level: 'warn' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          const line = chunk.toString();
          if ((JSON.parse(line) as { level: number }).level >= 50) errorLines.push(line);
          done();
        },
      }),
    );
    const app = systemApp(
      system,
      createTeamsTokenVerifier({
        openIdConfigUrl: keys.openIdConfigUrl,
        issuers: [ISSUER],
        audience: AUDIENCE,
      }),
      logger,
    );
    const redis = plainRedis();
    /** What a refused request must leave as it was: every key, and every fuzzed call's version. */
    const written = async () => {
      // writes that wait for a round trip (acknowledgements, the operator feed) belong to the
      // request that made them
      await system.core.store.flushAcks();
      const all = await Promise.all(
        [`${system.prefix}:*`, `{${system.prefix}-q}*`].map((p) => redis.keys(p)),
      );
      const versions = await Promise.all(
        CALL_IDS.map(async (c) => (await system.core.runtime.getCall(c))?.version ?? 0),
      );
      // (the outbox index is emptied lazily by the sweeper, in the background: not a write)
      return { keys: all.flat().filter(notSwept).sort(), versions };
    };
    let statuses = new Map<number, number>();
    try {
      await fc.assert(
        fc.asyncProperty(body, contentType, async (text, type) => {
          errorLines.length = 0;
          const before = await written();
          const res = await app.request('/api/calling', {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': type },
            body: text,
          });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          expect(res.status).toBeLessThan(500);
          if (res.status >= 400) expect(await written()).toEqual(before);
          expect(errorLines).toEqual([]);
        }),
        { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
      );
    } finally {
      await redis.quit();
    }
    // the fuzzer must reach both sides: accepted bodies and each kind of refusal
    expect(statuses.get(202)).toBeGreaterThan(0);
    expect(statuses.get(400)).toBeGreaterThan(0);
    expect(statuses.get(415)).toBeGreaterThan(0);
    statuses = new Map();
  }, 240_000);
});
