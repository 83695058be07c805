/** Token verification against the simulator's real OpenID configuration and JWKS over HTTPS. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpError } from '../../src/http/http-error.js';
import { createTeamsTokenVerifier } from '../../src/http/teams-auth.js';
import { startSimulator, type Simulator } from '@cr-orchestrator/teams-simulator';
import { BOT_APP_ID, BOT_APP_SECRET, testSimulatorKeys, testTls } from '../helpers/system.js';

const TENANT = 'ca7c802e-0077-43ad-bbb6-3258279978cc';
let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({
    botAppId: BOT_APP_ID,
    botAppSecret: BOT_APP_SECRET,
    webhookUrl: 'http://127.0.0.1:9/unused',
    tls: testTls(),
    keys: testSimulatorKeys(),
  });
});
afterAll(async () => {
  await sim?.close();
});

const verifier = (cooldownMs = 30_000) =>
  createTeamsTokenVerifier({
    openIdConfigUrl: sim.openIdConfigUrl,
    issuers: ['https://api.botframework.com', 'https://graph.microsoft.com'],
    audience: BOT_APP_ID,
    keyRefetchCooldownMs: cooldownMs,
  });
const jwksFetches = () => sim.requests.filter((r) => r.route === 'jwks').length;

describe('Teams token verification', () => {
  it('accepts a valid token, returns its tenant, and caches the keys', async () => {
    const v = verifier();
    const before = jwksFetches();
    const tokens = await Promise.all([1, 2, 3].map(() => sim.signToken({ tenantId: TENANT })));
    const callers = await Promise.all(tokens.map((t) => v.verify(`Bearer ${t}`)));
    expect(callers.map((c) => c.tenantId)).toEqual([TENANT, TENANT, TENANT]);
    await v.verify(`Bearer ${await sim.signToken({ tenantId: TENANT })}`);
    expect(jwksFetches() - before).toBe(1);
  });

  it('refetches the keys when Teams rotates its signing key (unknown kid), once per cooldown', async () => {
    const v = verifier(200);
    await v.verify(`Bearer ${await sim.signToken({ tenantId: TENANT })}`);
    const before = jwksFetches();
    await sim.rotateSigningKey();
    await new Promise((r) => setTimeout(r, 250));
    const caller = await v.verify(`Bearer ${await sim.signToken({ tenantId: TENANT })}`);
    expect(caller.tenantId).toBe(TENANT);
    expect(jwksFetches() - before).toBe(1);
    // a flood of tokens with unknown kids cannot make it refetch more than once per cooldown
    const forged = await Promise.all(
      [1, 2, 3, 4].map(() => sim.signToken({ tenantId: TENANT, mode: 'unknownKid' })),
    );
    const results = await Promise.allSettled(forged.map((t) => v.verify(`Bearer ${t}`)));
    expect(
      results.every((r) => r.status === 'rejected' && (r.reason as HttpError).status === 401),
    ).toBe(true);
    expect(jwksFetches() - before).toBeLessThanOrEqual(2);
  });

  it('answers 503 (not 401) when the signing keys cannot be fetched at all', async () => {
    const v = createTeamsTokenVerifier({
      openIdConfigUrl: `${sim.baseUrl}/no-such-document`,
      issuers: ['https://api.botframework.com'],
      audience: BOT_APP_ID,
    });
    const token = await sim.signToken({ tenantId: TENANT });
    await expect(v.verify(`Bearer ${token}`)).rejects.toMatchObject({ status: 503 });
  });

  it('remembers a verified token, and still refuses it once it expires or before its nbf', async () => {
    let clock = Date.now();
    const v = createTeamsTokenVerifier({
      openIdConfigUrl: sim.openIdConfigUrl,
      issuers: ['https://api.botframework.com'],
      audience: BOT_APP_ID,
      now: () => clock,
    });
    const token = await sim.signToken({ tenantId: TENANT });
    const { exp, nbf } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as {
      exp: number;
      nbf: number;
    };
    const first = await v.verify(`Bearer ${token}`);
    // the second use is answered from the cache: the very same result, no second RS256 check
    expect(await v.verify(`Bearer ${token}`)).toBe(first);
    // before nbf (beyond the 5 minutes of skew) the remembered token is refused
    clock = nbf * 1000 - 301_000;
    await expect(v.verify(`Bearer ${token}`)).rejects.toMatchObject({ status: 401 });
    // within the skew after exp it is still good; beyond it, refused although remembered
    clock = exp * 1000 + 299_000;
    expect(await v.verify(`Bearer ${token}`)).toBe(first);
    clock = exp * 1000 + 301_000;
    await expect(v.verify(`Bearer ${token}`)).rejects.toMatchObject({ status: 401 });
  });

  it('never remembers a failure: a token refused as not yet valid passes once it is', async () => {
    const token = await sim.signToken({ tenantId: TENANT });
    const { nbf } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as {
      nbf: number;
    };
    let clock = nbf * 1000 - 600_000;
    const v = createTeamsTokenVerifier({
      openIdConfigUrl: sim.openIdConfigUrl,
      issuers: ['https://api.botframework.com'],
      audience: BOT_APP_ID,
      now: () => clock,
    });
    await expect(v.verify(`Bearer ${token}`)).rejects.toMatchObject({ status: 401 });
    clock = nbf * 1000;
    expect((await v.verify(`Bearer ${token}`)).tenantId).toBe(TENANT);
  });

  // one case per test: a failure names the one check that let a token through
  it('refuses a token for another bot', async () => {
    const other = await sim.signToken({ tenantId: TENANT, audience: 'another-bot' });
    await expect(verifier().verify(`Bearer ${other}`)).rejects.toMatchObject({ status: 401 });
  });

  it.each([
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['no token', 'Bearer'],
    ['not a JWT', 'Bearer not.a.jwt'],
  ])('refuses a malformed header: %s', async (_case, header) => {
    await expect(verifier().verify(header)).rejects.toMatchObject({ status: 401 });
  });
});
