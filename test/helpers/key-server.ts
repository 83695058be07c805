/**
 * A Teams-like signing-key endpoint of the test's own (OpenID configuration + JWKS over HTTP, or
 * HTTPS with a certificate nobody trusts), and a forger holding its private keys: every token
 * the attack suite needs, valid or hostile, is made here rather than trusted to the simulator.
 */
import { createServer as createHttpServer, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  SignJWT,
  UnsecuredJWT,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  importJWK,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import { BOT_APP_ID } from './system.js';

export const ISSUER = 'https://api.botframework.com';
export const AUDIENCE = BOT_APP_ID;

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

export async function newKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'RS256' };
  return { kid, privateKey, publicKey, jwk };
}

export interface KeyServer {
  /** The OpenID configuration URL to give the verifier. */
  openIdConfigUrl: string;
  /** Requests seen per path (`/openid`, `/keys`). */
  hits: { openid: number; keys: number };
  /** Answer every request with this status instead (0 = serve normally). */
  failWith: number;
  /** Publish a new key (the old stays published) and sign with it from now on. */
  rotate(): Promise<SigningKey>;
  current: SigningKey;
  close(): Promise<void>;
}

export async function startKeyServer(
  tls?: { cert: string; key: string },
  kid = 'key-1',
): Promise<KeyServer> {
  const published = [await newKey(kid)];
  let base = '';
  const state: KeyServer = {
    openIdConfigUrl: '',
    hits: { openid: 0, keys: 0 },
    failWith: 0,
    current: published[0]!,
    async rotate() {
      const next = await newKey(`key-${published.length + 1}`);
      published.push(next);
      state.current = next;
      return next;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const handler = (req: { url?: string }, res: ServerResponse) => {
    const path = req.url ?? '';
    if (path === '/openid') state.hits.openid += 1;
    if (path === '/keys') state.hits.keys += 1;
    if (state.failWith) {
      res.writeHead(state.failWith).end();
      return;
    }
    res.setHeader('content-type', 'application/json');
    if (path === '/openid') res.end(JSON.stringify({ issuer: ISSUER, jwks_uri: `${base}/keys` }));
    else if (path === '/keys') res.end(JSON.stringify({ keys: published.map((k) => k.jwk) }));
    else res.writeHead(404).end();
  };
  const server: Server = tls ? createHttpsServer(tls, handler) : createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  base = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  state.openIdConfigUrl = `${base}/openid`;
  return state;
}

const nowSec = () => Math.floor(Date.now() / 1000);

/** Claims of a valid Teams webhook token for `tenantId`. */
export function claims(tenantId: string, overrides: JWTPayload = {}): JWTPayload {
  const iat = nowSec();
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    tid: tenantId,
    iat,
    nbf: iat,
    exp: iat + 3600,
    ...overrides,
  };
}

export async function sign(
  key: SigningKey,
  payload: JWTPayload,
  header: { kid?: string; alg?: string } = {},
): Promise<string> {
  const alg = header.alg ?? 'RS256';
  // WebCrypto binds a key to one hash: another RSA algorithm needs the key imported for it
  const privateKey =
    alg === 'RS256' ? key.privateKey : await importJWK(await exportJWK(key.privateKey), alg);
  return new SignJWT(payload)
    .setProtectedHeader({ alg, kid: key.kid, typ: 'JWT', ...header })
    .sign(privateKey);
}

export const unsigned = (payload: JWTPayload): string => new UnsecuredJWT(payload).encode();

/** HS256 keyed with the PEM of the RSA public key: the classic algorithm-confusion forgery. */
export async function hs256WithPublicKey(key: SigningKey, payload: JWTPayload): Promise<string> {
  const pem = await exportSPKI(key.publicKey);
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', kid: key.kid, typ: 'JWT' })
    .sign(new TextEncoder().encode(pem));
}
