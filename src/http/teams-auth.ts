/**
 * Verifies the bearer token Teams puts on every notification
 * (docs/teams-protocol.md#inbound-token): RS256 only, keys from the `jwks_uri` of the OpenID
 * configuration (cached; an unknown `kid` triggers a refetch, rate-limited by jose's cooldown),
 * issuer in the configured list (with or without a trailing slash), audience = the bot's app id, 5
 * minutes of clock skew, `tid` required. The OpenID document itself is re-read every 2 hours, like
 * Microsoft's sample.
 */
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { ATTR, withSpan } from '../telemetry/index.js';
import { HttpError } from './http-error.js';

export interface TeamsCaller {
  tenantId: string;
  claims: JWTPayload;
}

export interface TeamsTokenVerifier {
  verify(authorization: string | undefined): Promise<TeamsCaller>;
}

export interface TeamsAuthOptions {
  openIdConfigUrl: string;
  issuers: readonly string[];
  audience: string;
  /** @default 300 */
  clockToleranceSec?: number;
  /** How long the OpenID document is trusted before it is fetched again. @default 7200000 */
  configMaxAgeMs?: number;
  /** @default 5000 */
  fetchTimeoutMs?: number;
  /** At most one key refetch per this window when tokens name an unknown `kid`. @default 30000 */
  keyRefetchCooldownMs?: number;
  now?: () => number;
}

type KeySet = ReturnType<typeof createRemoteJWKSet>;

const unauthorized = (message: string) =>
  new HttpError(401, 'unauthorized', message, {
    'www-authenticate': 'Bearer error="invalid_token"',
  });

export function createTeamsTokenVerifier(options: TeamsAuthOptions): TeamsTokenVerifier {
  const now = options.now ?? Date.now;
  const maxAge = options.configMaxAgeMs ?? 7_200_000;
  const timeout = options.fetchTimeoutMs ?? 5000;
  const issuers = [
    ...new Set(
      options.issuers.flatMap((i) => [i.replace(/\/+$/, ''), `${i.replace(/\/+$/, '')}/`]),
    ),
  ];
  let keys: { set: KeySet; jwksUri: string; loadedAt: number } | undefined;
  let loading: Promise<KeySet> | undefined;

  async function fetchKeySet(): Promise<KeySet> {
    const response = await fetch(options.openIdConfigUrl, { signal: AbortSignal.timeout(timeout) });
    if (!response.ok) throw new Error(`OpenID configuration answered ${response.status}`);
    const doc = (await response.json()) as { jwks_uri?: unknown };
    if (typeof doc.jwks_uri !== 'string') throw new Error('OpenID configuration has no jwks_uri');
    if (keys?.jwksUri === doc.jwks_uri) {
      keys.loadedAt = now();
      return keys.set;
    }
    const set = createRemoteJWKSet(new URL(doc.jwks_uri), {
      timeoutDuration: timeout,
      cooldownDuration: options.keyRefetchCooldownMs ?? 30_000,
      cacheMaxAge: 24 * 3600_000,
    });
    keys = { set, jwksUri: doc.jwks_uri, loadedAt: now() };
    return set;
  }

  async function keySet(): Promise<KeySet> {
    if (keys && now() - keys.loadedAt < maxAge) return keys.set;
    loading ??= fetchKeySet().finally(() => {
      loading = undefined;
    });
    try {
      return await loading;
    } catch (error) {
      if (keys) return keys.set; // keep verifying with the last good keys
      throw new HttpError(
        503,
        'keys_unavailable',
        `Teams signing keys unavailable: ${(error as Error).message}`,
      );
    }
  }

  return {
    verify: (authorization) =>
      withSpan('teams.jwt.verify', {}, async (span) => {
        const caller = await verify(authorization).catch((error: unknown) => {
          span.setAttribute(ATTR.jwtOutcome, error instanceof HttpError ? error.code : 'error');
          throw error;
        });
        span.setAttributes({ [ATTR.jwtOutcome]: 'ok', [ATTR.tenantId]: caller.tenantId });
        return caller;
      }),
  };

  async function verify(authorization: string | undefined): Promise<TeamsCaller> {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization?.trim() ?? '');
    if (!match?.[1]) throw unauthorized('missing bearer token');
    const set = await keySet();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(match[1], set, {
        issuer: issuers,
        audience: options.audience,
        algorithms: ['RS256'],
        clockTolerance: options.clockToleranceSec ?? 300,
        requiredClaims: ['exp', 'tid'],
        currentDate: new Date(now()),
      }));
    } catch (error) {
      if (error instanceof joseErrors.JWKSTimeout) {
        throw new HttpError(
          503,
          'keys_unavailable',
          'Teams signing keys could not be fetched in time',
        );
      }
      const reason = error instanceof joseErrors.JOSEError ? error.code : 'ERR_INVALID_TOKEN';
      throw unauthorized(`token rejected (${reason})`);
    }
    if (typeof payload.tid !== 'string' || payload.tid.length === 0) {
      throw unauthorized('token rejected (no tenant)');
    }
    return { tenantId: payload.tid, claims: payload };
  }
}
