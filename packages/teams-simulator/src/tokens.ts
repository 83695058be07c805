/**
 * The simulator's token service: the Teams calling platform's signing keys (published as a
 * JWKS behind an OpenID configuration, docs/teams-protocol.md#inbound-token) with every negative
 * token mode a verifier must refuse, and a separate Entra key for the Graph access
 * tokens of the fake token endpoint (docs/teams-protocol.md#graph-token). The two are separate so
 * that rotating the webhook key never invalidates a bot's cached Graph token.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  SignJWT,
  UnsecuredJWT,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import { realClock, type Clock } from './clock.js';
import type { TokenMode } from './types.js';

export const BOT_FRAMEWORK_ISSUER = 'https://api.botframework.com';
export const GRAPH_AUDIENCE = 'https://graph.microsoft.com';
/** Graph access tokens live as long as Entra's usual app tokens. */
export const GRAPH_TOKEN_LIFETIME_SEC = 3599;
// The real `appid` of the calling service's tokens is not documented
// (docs/teams-protocol.md#inbound-token shows only that the claim exists); an obviously fake id
// keeps anyone from relying on a value.
const CALLING_SERVICE_APP_ID = '00000000-0000-0000-0000-00000000ca11';
// 10 minutes in the past: beyond the 5-minute skew every verifier is told to allow
// (docs/teams-protocol.md#inbound-token).
const EXPIRED_BY_SEC = 600;

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

/**
 * The two RSA key pairs a simulator signs with: the calling platform's (webhook tokens) and the
 * fake Entra's (Graph tokens). Opaque; made by `generateSimulatorKeys`.
 */
export interface SimulatorKeys {
  readonly platform: SigningKey;
  readonly entra: SigningKey;
}

/**
 * Two fresh key pairs. Generating an RSA key costs ≈ 150 ms of CPU; a suite that starts many
 * simulators in one process can make them once and pass them as `SimulatorOptions.keys`.
 */
export async function generateSimulatorKeys(): Promise<SimulatorKeys> {
  const [platform, entra] = await Promise.all([newKey(), newKey()]);
  return { platform, entra };
}

async function newKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const exported = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(exported);
  const jwk: JWK = {
    kty: exported.kty,
    use: 'sig',
    kid,
    n: exported.n,
    e: exported.e,
    alg: 'RS256',
  };
  return { kid, privateKey, publicKey, jwk };
}

export interface WebhookTokenRequest {
  tenantId: string;
  mode?: TokenMode;
  audience?: string;
}

export type GraphTokenCheck = { ok: true; tenantId: string } | { ok: false; reason: string };

export class TokenService {
  private readonly published: SigningKey[];
  private current: SigningKey;
  private rogue: SigningKey | undefined;
  // Valid webhook tokens are reused for half their lifetime (the documented example token
  // lives 3,900 s, so the platform evidently does not mint one per POST) and RSA signing is
  // the costliest step of a delivery.
  private readonly cache = new Map<string, { token: string; renewAt: number }>();

  /** Lifetime of the Graph access tokens the fake Entra issues (`expires_in`, `exp`). */
  graphLifetimeSec = GRAPH_TOKEN_LIFETIME_SEC;

  private constructor(
    first: SigningKey,
    private readonly entra: SigningKey,
    private readonly botAppId: string,
    private readonly lifetimeSec: number,
    private readonly clock: Clock,
  ) {
    this.current = first;
    this.published = [first];
  }

  /** Tokens are stamped (iat, nbf, exp) and Graph tokens checked on `clock`. */
  static async create(
    botAppId: string,
    lifetimeSec: number,
    clock: Clock = realClock,
    keys?: SimulatorKeys,
  ): Promise<TokenService> {
    const { platform, entra } = keys ?? (await generateSimulatorKeys());
    return new TokenService(platform, entra, botAppId, lifetimeSec, clock);
  }

  /** The calling platform's JWKS (every key ever used, newest last). */
  jwks(): { keys: JWK[] } {
    return { keys: this.published.map((k) => k.jwk) };
  }

  /** The fake Entra's JWKS. */
  entraJwks(): { keys: JWK[] } {
    return { keys: [this.entra.jwk] };
  }

  async rotate(): Promise<void> {
    const next = await newKey();
    this.published.push(next);
    this.current = next;
    this.cache.clear();
  }

  async webhookToken(req: WebhookTokenRequest): Promise<string> {
    const mode = req.mode ?? 'valid';
    const audience = req.audience ?? this.botAppId;
    if (mode !== 'valid') return this.negativeToken(mode, req.tenantId, audience);
    const key = `${req.tenantId}\u0000${audience}`;
    const hit = this.cache.get(key);
    if (hit && hit.renewAt > this.clock.now()) return hit.token;
    const token = await this.sign(
      this.current,
      this.claims(req.tenantId, audience),
      this.current.kid,
    );
    this.cache.set(key, { token, renewAt: this.clock.now() + (this.lifetimeSec * 1000) / 2 });
    return token;
  }

  private claims(tenantId: string, audience: string): JWTPayload {
    const iat = this.nowSec();
    return {
      iss: BOT_FRAMEWORK_ISSUER,
      aud: audience,
      tid: tenantId,
      appid: CALLING_SERVICE_APP_ID,
      iat,
      nbf: iat,
      exp: iat + this.lifetimeSec,
    };
  }

  private sign(key: SigningKey, claims: JWTPayload, kid: string): Promise<string> {
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .sign(key.privateKey);
  }

  private async negativeToken(
    mode: TokenMode,
    tenantId: string,
    audience: string,
  ): Promise<string> {
    const claims = this.claims(tenantId, audience);
    switch (mode) {
      case 'expired': {
        const exp = this.nowSec() - EXPIRED_BY_SEC;
        return this.sign(
          this.current,
          { ...claims, iat: exp - this.lifetimeSec, nbf: exp - this.lifetimeSec, exp },
          this.current.kid,
        );
      }
      case 'wrongAudience':
        return this.sign(this.current, { ...claims, aud: randomUUID() }, this.current.kid);
      case 'wrongIssuer':
        // An Entra issuer: a plausible mix-up, not an obviously silly string.
        return this.sign(
          this.current,
          { ...claims, iss: `https://sts.windows.net/${tenantId}/` },
          this.current.kid,
        );
      case 'algNone':
        return new UnsecuredJWT(claims).encode();
      case 'unknownKid':
        this.rogue ??= await newKey();
        return this.sign(this.rogue, claims, randomBytes(20).toString('base64url'));
      case 'noTid': {
        const { tid: _tid, ...rest } = claims;
        return this.sign(this.current, rest, this.current.kid);
      }
      case 'badSignature':
        return tamperSignature(await this.sign(this.current, claims, this.current.kid));
      default:
        return this.sign(this.current, claims, this.current.kid);
    }
  }

  private nowSec(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  /** A Graph access token as the fake Entra issues it for `tenantId`. */
  graphToken(tenantId: string): Promise<string> {
    const iat = this.nowSec();
    return new SignJWT({
      aud: GRAPH_AUDIENCE,
      iss: `https://sts.windows.net/${tenantId}/`,
      tid: tenantId,
      appid: this.botAppId,
      roles: ['Calls.AccessMedia.All', 'Calls.JoinGroupCall.All'],
      iat,
      nbf: iat,
      exp: iat + this.graphLifetimeSec,
    })
      .setProtectedHeader({ alg: 'RS256', kid: this.entra.kid, typ: 'JWT' })
      .sign(this.entra.privateKey);
  }

  /** Checks a Graph bearer token: signed by the fake Entra, for Graph, for this bot, unexpired. */
  async checkGraphToken(authorization: string | undefined): Promise<GraphTokenCheck> {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match?.[1])
      return { ok: false, reason: 'Authorization header missing or not a bearer token.' };
    try {
      const { payload } = await jwtVerify(match[1], this.entra.publicKey, {
        audience: GRAPH_AUDIENCE,
        algorithms: ['RS256'],
        requiredClaims: ['tid', 'exp'],
        currentDate: new Date(this.clock.now()),
      });
      if (payload.appid !== this.botAppId)
        return { ok: false, reason: 'Token was issued to another application.' };
      if (payload.iss !== `https://sts.windows.net/${String(payload.tid)}/`) {
        return { ok: false, reason: 'Token issuer does not match its tenant.' };
      }
      return { ok: true, tenantId: String(payload.tid) };
    } catch (err) {
      return { ok: false, reason: `Access token validation failure: ${(err as Error).message}` };
    }
  }
}

/** Flip the first signature byte (a whole byte, so base64url padding bits cannot hide it). */
function tamperSignature(token: string): string {
  const [header, payload, signature] = token.split('.');
  const bytes = Buffer.from(signature ?? '', 'base64url');
  bytes[0] = (bytes[0] ?? 0) ^ 0xff;
  return `${header}.${payload}.${bytes.toString('base64url')}`;
}
