/**
 * The token matrix: every way a webhook bearer token can be missing, forged, misdirected or
 * stale, tried against the product's verifier itself, through `app.request()` and through the
 * real ingress socket; each refused one writes nothing. Keys come from a key endpoint of the
 * test's own, so the forger holds the private keys (HS256 confusion, `kid` games, clock games).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpError } from '../../src/http/http-error.js';
import { createTeamsTokenVerifier, type KeyHealth } from '../../src/http/teams-auth.js';
import { plainRedis } from '../helpers/redis.js';
import { systemApp } from '../helpers/system-app.js';
import { startSystem, type System } from '../helpers/system.js';
import {
  AUDIENCE,
  ISSUER,
  claims,
  hs256WithPublicKey,
  newKey,
  sign,
  startKeyServer,
  unsigned,
  type KeyServer,
} from '../helpers/key-server.js';

const TENANT = '5d3c1b2a-9f8e-4d7c-8b6a-5f4e3d2c1b0a';
const MIN = 60;
const nowSec = () => Math.floor(Date.now() / 1000);

let keys: KeyServer;
let system: System;

beforeAll(async () => {
  keys = await startKeyServer();
  system = await startSystem({
    name: 'hostile-tokens',
    withWorkers: false,
    env: { TEAMS_OPENID_CONFIG_URL: keys.openIdConfigUrl, TEAMS_TOKEN_ISSUERS: ISSUER },
  });
});
afterAll(async () => {
  await system?.close();
  await keys?.close();
});

const verifier = (cooldownMs = 30_000, onKeyHealth?: (h: KeyHealth) => void) =>
  createTeamsTokenVerifier({
    openIdConfigUrl: keys.openIdConfigUrl,
    issuers: [ISSUER],
    audience: AUDIENCE,
    keyRefetchCooldownMs: cooldownMs,
    ...(onKeyHealth ? { onKeyHealth } : {}),
  });

type Case = [name: string, authorization: () => string | undefined | Promise<string | undefined>];

/** Every refused token: none of them may authenticate anyone. */
const refused: Case[] = [
  ['no Authorization header', () => undefined],
  ['empty header', () => ''],
  ['Basic scheme', () => `Basic ${Buffer.from('bot:secret').toString('base64')}`],
  [
    'valid token under another scheme',
    async () => `Token ${await sign(keys.current, claims(TENANT))}`,
  ],
  ['Bearer without a token', () => 'Bearer'],
  ['two tokens', async () => `Bearer ${await sign(keys.current, claims(TENANT))} x`],
  ['not a JWT', () => 'Bearer not-a-jwt'],
  ['three empty parts', () => 'Bearer ..'],
  ['alg: none', () => `Bearer ${unsigned(claims(TENANT))}`],
  [
    'alg: none with the real kid',
    () => {
      const [, payload] = unsigned(claims(TENANT)).split('.');
      const header = Buffer.from(
        JSON.stringify({ alg: 'none', kid: keys.current.kid, typ: 'JWT' }),
      ).toString('base64url');
      return `Bearer ${header}.${payload}.`;
    },
  ],
  [
    'HS256 keyed with the public key',
    async () => `Bearer ${await hs256WithPublicKey(keys.current, claims(TENANT))}`,
  ],
  [
    'RS512 with the real key (only RS256 is allowed)',
    async () => `Bearer ${await sign(keys.current, claims(TENANT), { alg: 'RS512' })}`,
  ],
  [
    'unknown key and unknown kid',
    async () => `Bearer ${await sign(await newKey('rogue'), claims(TENANT))}`,
  ],
  [
    'unknown key under the real kid',
    async () =>
      `Bearer ${await sign(await newKey('rogue'), claims(TENANT), { kid: keys.current.kid })}`,
  ],
  [
    'payload changed after signing (tid swapped)',
    async () => {
      const [h, , s] = (await sign(keys.current, claims(TENANT))).split('.');
      const p = Buffer.from(JSON.stringify(claims('another-tenant'))).toString('base64url');
      return `Bearer ${h}.${p}.${s}`;
    },
  ],
  [
    'expired beyond the 5 minutes of skew',
    async () =>
      `Bearer ${await sign(keys.current, claims(TENANT, { iat: nowSec() - 70 * MIN, nbf: nowSec() - 70 * MIN, exp: nowSec() - 10 * MIN }))}`,
  ],
  [
    'not valid yet (nbf 10 minutes ahead)',
    async () =>
      `Bearer ${await sign(keys.current, claims(TENANT, { nbf: nowSec() + 10 * MIN, exp: nowSec() + 70 * MIN }))}`,
  ],
  ['no exp', async () => `Bearer ${await sign(keys.current, claims(TENANT, { exp: undefined }))}`],
  [
    'wrong audience',
    async () =>
      `Bearer ${await sign(keys.current, claims(TENANT, { aud: '00000000-0000-0000-0000-000000000001' }))}`,
  ],
  [
    'wrong issuer (an Entra tenant issuer)',
    async () =>
      `Bearer ${await sign(keys.current, claims(TENANT, { iss: `https://sts.windows.net/${TENANT}/` }))}`,
  ],
  [
    'issuer that only starts like the real one',
    async () =>
      `Bearer ${await sign(keys.current, claims(TENANT, { iss: `${ISSUER}.evil.example` }))}`,
  ],
  [
    'missing tid',
    async () => `Bearer ${await sign(keys.current, claims(TENANT, { tid: undefined }))}`,
  ],
  ['empty tid', async () => `Bearer ${await sign(keys.current, claims(TENANT, { tid: '' }))}`],
  [
    'tid not a string',
    async () => `Bearer ${await sign(keys.current, claims(TENANT, { tid: 42 }))}`,
  ],
  [
    'tid of 10 KB',
    async () => `Bearer ${await sign(keys.current, claims(TENANT, { tid: 't'.repeat(10_000) }))}`,
  ],
  ['oversized header (20 KB)', () => `Bearer ${'a'.repeat(20_000)}`],
];

/** Accepted although unusual: the matrix must not pass merely by refusing everything. */
const accepted: Case[] = [
  ['valid', async () => `Bearer ${await sign(keys.current, claims(TENANT))}`],
  ['lower-case scheme', async () => `bearer ${await sign(keys.current, claims(TENANT))}`],
  [
    'issuer with a trailing slash',
    async () => `Bearer ${await sign(keys.current, claims(TENANT, { iss: `${ISSUER}/` }))}`,
  ],
  [
    'expired 2 minutes ago (within skew)',
    async () =>
      `Bearer ${await sign(keys.current, claims(TENANT, { iat: nowSec() - 62 * MIN, nbf: nowSec() - 62 * MIN, exp: nowSec() - 2 * MIN }))}`,
  ],
];

describe('the verifier itself', () => {
  let v: ReturnType<typeof verifier>;
  beforeAll(() => {
    v = verifier();
  });
  it.each(refused)('refuses %s with 401', async (_name, make) => {
    const error = await v.verify(await make()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({ status: 401, code: 'unauthorized' });
    expect((error as HttpError).headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it.each(accepted)('accepts %s and returns its tenant', async (_name, make) => {
    await expect(v.verify(await make())).resolves.toMatchObject({ tenantId: TENANT });
  });
});

describe('key rotation and outages', () => {
  it('follows a rotation with one refetch, and a flood of unknown kids cannot hammer the endpoint', async () => {
    const v = verifier(300);
    await v.verify(`Bearer ${await sign(keys.current, claims(TENANT))}`);
    const before = { ...keys.hits };
    await keys.rotate();
    await new Promise((r) => setTimeout(r, 350));
    await expect(
      v.verify(`Bearer ${await sign(keys.current, claims(TENANT))}`),
    ).resolves.toMatchObject({ tenantId: TENANT });
    expect(keys.hits.keys - before.keys).toBe(1);
    const rogue = await newKey('rogue');
    const flood = await Promise.all(
      Array.from({ length: 200 }, (_, i) => sign(rogue, claims(TENANT), { kid: `rogue-${i}` })),
    );
    const started = Date.now();
    const results = await Promise.allSettled(flood.map((t) => v.verify(`Bearer ${t}`)));
    expect(
      results.every((r) => r.status === 'rejected' && (r.reason as HttpError).status === 401),
    ).toBe(true);
    // at most one refetch per 300 ms cooldown while the flood lasted (plus the one above)
    const windows = Math.ceil((Date.now() - started) / 300) + 1;
    expect(keys.hits.keys - before.keys).toBeLessThanOrEqual(1 + windows);
    // the OpenID document is read once for the whole verifier's life (re-read after 2 h)
    expect(keys.hits.openid - before.openid).toBe(0);
  });

  it('an unreachable key endpoint answers 503 (Teams retries), is reported once, and recovers', async () => {
    const down = await startKeyServer();
    const reports: KeyHealth[] = [];
    down.failWith = 500;
    const v = createTeamsTokenVerifier({
      openIdConfigUrl: down.openIdConfigUrl,
      issuers: [ISSUER],
      audience: AUDIENCE,
      keyRefetchCooldownMs: 200,
      onKeyHealth: (h) => reports.push(h),
    });
    try {
      const token = `Bearer ${await sign(down.current, claims(TENANT))}`;
      for (let i = 0; i < 20; i += 1) {
        await expect(v.verify(token)).rejects.toMatchObject({
          status: 503,
          code: 'keys_unavailable',
        });
      }
      const health = await v.checkKeys();
      expect(health.ok).toBe(false);
      expect(health.reason).toMatch(/500/);
      expect(reports).toEqual([{ ok: false, reason: health.reason }]);
      down.failWith = 0;
      await new Promise((r) => setTimeout(r, 250));
      expect(await v.checkKeys()).toEqual({ ok: true });
      await expect(v.verify(token)).resolves.toMatchObject({ tenantId: TENANT });
      expect(reports.map((r) => r.ok)).toEqual([false, true]);
    } finally {
      await down.close();
    }
  });
});

describe('through app.request() and the real ingress socket', () => {
  const app = () => systemApp(system, verifier());

  const invite = (callId: string) =>
    JSON.stringify(system.sim.inviteBody({ kind: 'p2p', callId, tenantId: TENANT }));

  /** Every key of this system's prefix and the number of queued jobs. */
  async function written(): Promise<{ keys: string[]; jobs: number }> {
    const redis = plainRedis();
    try {
      // the outbox index is emptied lazily by the sweeper, in the background: not a write
      const keys = (await redis.keys(`${system.prefix}:*`))
        .filter((k) => !k.endsWith(':outbox-pending'))
        .sort();
      const counts = await system.core.queues.graph.getJobCounts();
      return { keys, jobs: Object.values(counts).reduce((a, b) => a + b, 0) };
    } finally {
      await redis.quit();
    }
  }

  it.each(refused)('app.request: %s → 401, nothing written', async (name, make) => {
    const before = await written();
    const authorization = await make();
    const res = await app().request('/api/calling', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(authorization === undefined ? {} : { authorization }),
      },
      body: invite(`app-${name.replace(/\W+/g, '-')}`),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: 'unauthorized' } });
    expect(await written()).toEqual(before);
  });

  it.each(refused)('socket: %s → 4xx, nothing written', async (name, make) => {
    const before = await written();
    const authorization = await make();
    const res = await fetch(`${system.ingress.url}/api/calling`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(authorization === undefined ? {} : { authorization }),
      },
      body: invite(`sock-${name.replace(/\W+/g, '-')}`),
    });
    // Node itself answers 431 to a header beyond its 16 KB limit; every other case is ours
    expect(name.startsWith('oversized') ? [401, 431] : [401]).toContain(res.status);
    expect(await written()).toEqual(before);
  });

  it('socket: a valid token is accepted and creates the call (the harness can pass)', async () => {
    const token = await sign(keys.current, claims(TENANT));
    const res = await fetch(`${system.ingress.url}/api/calling`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: invite('accepted-1'),
    });
    expect(res.status).toBe(202);
    expect(
      (await system.core.runtime.getCall('accepted-1'))?.snapshot.context.invite,
    ).toMatchObject({ tenantId: TENANT });
  });
});
