import { ConfidentialClientApplication } from '@azure/msal-node';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenMode } from '../src/index.js';
import { verifier } from './bot-stub.js';
import { APP_ID, APP_SECRET, startHarness, type Harness } from './setup.js';

let h: Harness;
let verify: Awaited<ReturnType<typeof verifier>>;
const TENANT = '7e1e0000-0000-4000-8000-0000000000aa';

beforeAll(async () => {
  h = await startHarness({ tokenLifetimeSec: 300 });
  verify = await verifier(h.sim.openIdConfigUrl, APP_ID);
});
afterAll(async () => {
  await h?.close();
});

describe('calling platform OpenID metadata and webhook tokens', () => {
  it('publishes an OpenID configuration and a JWKS of RSA signing keys', async () => {
    const cfg = (await (await fetch(h.sim.openIdConfigUrl)).json()) as Record<string, unknown>;
    expect(cfg.issuer).toBe('https://api.botframework.com');
    expect(cfg.jwks_uri).toBe(`${h.sim.baseUrl}/v1/keys`);
    expect(cfg.id_token_signing_alg_values_supported).toEqual(['RS256']);
    const jwks = (await (await fetch(String(cfg.jwks_uri))).json()) as { keys: JWK[] };
    expect(jwks.keys).toHaveLength(1);
    const [key] = jwks.keys;
    expect(key).toMatchObject({ kty: 'RSA', use: 'sig', e: 'AQAB' });
    expect(key?.kid).toMatch(/^[\w-]{20,}$/);
    expect(key?.n?.length).toBeGreaterThan(300);
    expect(key?.d).toBeUndefined();
  });

  it('signs valid tokens that a bot verifies: RS256, kid, typ, iss, aud, tid, appid, lifetime', async () => {
    const token = await h.sim.signToken({ tenantId: TENANT });
    const result = await verify(`Bearer ${token}`);
    expect(result.ok).toBe(true);
    const header = decodeProtectedHeader(token);
    expect(header).toMatchObject({ alg: 'RS256', typ: 'JWT' });
    expect(header.kid).toMatch(/^[\w-]{20,}$/);
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ iss: 'https://api.botframework.com', aud: APP_ID, tid: TENANT });
    expect(claims.appid).toMatch(/^[0-9a-f-]{36}$/);
    expect(claims.exp! - claims.iat!).toBe(300);
    expect(claims.nbf).toBe(claims.iat);
  });

  const failures: [TokenMode, string][] = [
    ['expired', 'ERR_JWT_EXPIRED'],
    ['wrongAudience', 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['wrongIssuer', 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['algNone', 'ERR_JOSE_ALG_NOT_ALLOWED'],
    ['unknownKid', 'ERR_JWKS_NO_MATCHING_KEY'],
    ['noTid', 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['badSignature', 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'],
  ];
  it.each(failures)('a %s token fails verification (%s)', async (mode, code) => {
    const token = await h.sim.signToken({ tenantId: TENANT, mode });
    const result = await verify(`Bearer ${token}`);
    expect(result.ok).toBe(false);
    expect(result.ok ? undefined : result.code).toBe(code);
  });

  it('expired tokens are beyond a 5-minute skew and otherwise intact', async () => {
    const claims = decodeJwt(await h.sim.signToken({ tenantId: TENANT, mode: 'expired' }));
    expect(claims.exp!).toBeLessThan(Date.now() / 1000 - 300);
    expect(claims.tid).toBe(TENANT);
  });

  it('rotation publishes a new kid; tokens signed before and after both verify', async () => {
    const before = await h.sim.signToken({ tenantId: TENANT });
    await h.sim.rotateSigningKey();
    const after = await h.sim.signToken({ tenantId: TENANT });
    const oldKid = decodeProtectedHeader(before).kid;
    const newKid = decodeProtectedHeader(after).kid;
    expect(newKid).not.toBe(oldKid);
    const jwks = (await (await fetch(`${h.sim.baseUrl}/v1/keys`)).json()) as { keys: JWK[] };
    expect(jwks.keys.map((k) => k.kid)).toEqual([oldKid, newKid]);
    const fresh = createRemoteJWKSet(new URL(`${h.sim.baseUrl}/v1/keys`));
    const options = { audience: APP_ID, issuer: h.sim.issuer, algorithms: ['RS256'] };
    await expect(jwtVerify(before, fresh, options)).resolves.toBeTruthy();
    await expect(jwtVerify(after, fresh, options)).resolves.toBeTruthy();
  });
});

describe('fake Entra', () => {
  const cca = (secret: string, tenant = TENANT) =>
    new ConfidentialClientApplication({
      auth: {
        clientId: APP_ID,
        clientSecret: secret,
        authority: `${h.sim.authorityHost}/${tenant}`,
        knownAuthorities: [new URL(h.sim.authorityHost).host],
      },
    });

  it('issues Graph tokens to msal-node for the requested tenant', async () => {
    const result = await cca(APP_SECRET).acquireTokenByClientCredential({
      scopes: ['https://graph.microsoft.com/.default'],
    });
    expect(result?.tokenType).toBe('Bearer');
    const claims = decodeJwt(result!.accessToken);
    expect(claims).toMatchObject({
      aud: 'https://graph.microsoft.com',
      tid: TENANT,
      appid: APP_ID,
    });
    expect(claims.exp! - claims.iat!).toBe(3599);
    const routes = h.sim.requests.map((r) => `${r.route} ${r.status}`);
    expect(routes).toContain('entraMetadata 200');
    expect(routes).toContain('token 200');
  });

  it('refuses a wrong client secret with 401 invalid_client and never logs the secret', async () => {
    const before = h.sim.requests.length;
    await expect(
      cca('wrong-secret', '7e1e0000-0000-4000-8000-0000000000bb').acquireTokenByClientCredential({
        scopes: ['https://graph.microsoft.com/.default'],
      }),
    ).rejects.toThrow(/invalid_client/);
    const tokenCalls = h.sim.requests.slice(before).filter((r) => r.route === 'token');
    expect(tokenCalls.map((r) => r.status)).toContain(401);
    expect(JSON.stringify(h.sim.requests)).not.toContain('wrong-secret');
    expect(JSON.stringify(h.sim.requests)).not.toContain(APP_SECRET);
    expect(tokenCalls[0]?.body).toMatchObject({ client_secret: '<redacted>' });
  });

  it('checks grant type, client id and scope', async () => {
    const post = (form: Record<string, string>) =>
      fetch(`${h.sim.authorityHost}/${TENANT}/oauth2/v2.0/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
      });
    const good = {
      grant_type: 'client_credentials',
      client_id: APP_ID,
      client_secret: APP_SECRET,
      scope: 'https://graph.microsoft.com/.default',
    };
    expect((await post(good)).status).toBe(200);
    const badGrant = await post({ ...good, grant_type: 'password' });
    expect(badGrant.status).toBe(400);
    expect(await badGrant.json()).toMatchObject({ error: 'unsupported_grant_type' });
    expect((await post({ ...good, client_id: 'someone-else' })).status).toBe(400);
    const badScope = await post({ ...good, scope: 'User.Read' });
    expect(await badScope.json()).toMatchObject({ error: 'invalid_scope' });
  });
});
