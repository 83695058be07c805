/**
 * Per-call media credentials (docs/media-protocol.md): `base64url(JSON claims).base64url(HMAC)`.
 * The worker that answers a call mints one into the answer's media blob; any media process
 * checks it. A call credential is single-use (its nonce is claimed in Redis by the session);
 * a resume token lets the same session continue within its reconnect window, anywhere.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Modality } from '../config.js';

export interface CallCredentialClaims {
  v: 1;
  kind: 'call';
  callId: string;
  exp: number;
  nonce: string;
  /** The answer's accepted modalities; absent (older credentials) means audio only. */
  modalities?: Modality[];
}
export interface ResumeClaims {
  v: 1;
  kind: 'resume';
  callId: string;
  sessionId: string;
  exp: number;
  modalities?: Modality[];
}
type Claims = CallCredentialClaims | ResumeClaims;

export type CredentialProblem = 'malformed' | 'bad-signature' | 'wrong-call' | 'expired';

export class CredentialError extends Error {
  override name = 'CredentialError';
  constructor(readonly reason: CredentialProblem) {
    super(`media credential refused: ${reason}`);
  }
}

export class MediaCredentials {
  constructor(private readonly secret: string) {}

  mintCall(
    callId: string,
    now: number,
    ttlMs = 120_000,
    modalities: readonly Modality[] = ['audio'],
  ): string {
    const nonce = randomUUID();
    return this.sign({
      v: 1,
      kind: 'call',
      callId,
      exp: now + ttlMs,
      nonce,
      modalities: [...modalities],
    });
  }

  mintResume(
    callId: string,
    sessionId: string,
    exp: number,
    modalities: readonly Modality[] = ['audio'],
  ): string {
    return this.sign({ v: 1, kind: 'resume', callId, sessionId, exp, modalities: [...modalities] });
  }

  /** The claims of a valid token for `callId`; throws `CredentialError` otherwise. */
  check<K extends Claims['kind']>(
    token: string,
    kind: K,
    callId: string,
    now: number,
  ): Extract<Claims, { kind: K }> {
    const [body, mac, extra] = token.split('.');
    if (!body || !mac || extra !== undefined || token.length > 2048)
      throw new CredentialError('malformed');
    const expected = this.mac(body);
    const given = Buffer.from(mac, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new CredentialError('bad-signature');
    }
    let claims: Claims;
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Claims;
    } catch {
      throw new CredentialError('malformed');
    }
    if (claims.v !== 1 || claims.kind !== kind) throw new CredentialError('malformed');
    if (claims.callId !== callId) throw new CredentialError('wrong-call');
    if (typeof claims.exp !== 'number' || claims.exp < now) throw new CredentialError('expired');
    const { modalities } = claims;
    if (
      modalities !== undefined &&
      (!Array.isArray(modalities) || !modalities.every((m) => m === 'audio' || m === 'video'))
    ) {
      throw new CredentialError('malformed');
    }
    return claims as Extract<Claims, { kind: K }>;
  }

  private sign(claims: Claims): string {
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${body}.${this.mac(body).toString('base64url')}`;
  }

  private mac(body: string): Buffer {
    return createHmac('sha256', this.secret).update(body).digest();
  }
}
