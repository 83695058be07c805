/**
 * Verifies the bearer token Teams puts on every notification
 * (docs/teams-protocol.md#inbound-token): RS256 only, keys from the `jwks_uri` of the OpenID
 * configuration (cached; an unknown `kid` triggers a refetch, rate-limited by jose's cooldown),
 * issuer in the configured list (with or without a trailing slash), audience = the bot's app id, 5
 * minutes of clock skew, `tid` required. The OpenID document itself is re-read every 2 hours, like
 * Microsoft's sample.
 *
 * Teams sends the same token on many notifications, and an RS256 check costs far more than the
 * rest of a webhook: a token that verified is remembered by its exact string in a bounded LRU
 * until its `exp` (plus the skew), and every use still checks `exp` and `nbf` against the clock.
 * A failure is never remembered; concurrent checks of one token share one verification while it
 * runs. The cache is emptied when the key set changes (a new `jwks_uri`).
 */
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { ATTR, withSpan } from '../telemetry/index.js';
import { HttpError } from './http-error.js';

export interface TeamsCaller {
  tenantId: string;
  claims: JWTPayload;
}

export interface KeyHealth {
  ok: boolean;
  /** Why the keys cannot be used (no secret in it: a status, an error code, a URL). */
  reason?: string;
}

export interface TeamsTokenVerifier {
  verify(authorization: string | undefined): Promise<TeamsCaller>;
  /**
   * Whether the signing keys can be fetched and used, loading them if need be (a readiness
   * probe calls this; failed attempts are retried at most once per `keyRefetchCooldownMs`).
   */
  checkKeys(): Promise<KeyHealth>;
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
  /** Verified tokens remembered (LRU); 0 verifies every token. @default 1000 */
  verifiedCacheSize?: number;
  /**
   * Told when the keys become unusable (with the cause) and when they recover: the cause of a
   * key outage is logged once, not once per refused notification.
   */
  onKeyHealth?: (health: KeyHealth) => void;
}

/** Longest `Authorization` header read: a Teams token is ~1.5 KB; anything huge is refused. */
export const MAX_TOKEN_CHARS = 16 * 1024;

type KeySet = ReturnType<typeof createRemoteJWKSet>;

/** A verified token's result and the window in which it may be used (ms, skew included). */
interface Verified {
  caller: TeamsCaller;
  notBefore: number;
  expires: number;
}

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
  let health: KeyHealth & { at: number } = { ok: true, at: -Infinity };
  const cooldown = options.keyRefetchCooldownMs ?? 30_000;
  const skewMs = (options.clockToleranceSec ?? 300) * 1000;
  const cacheSize = Math.max(0, Math.floor(options.verifiedCacheSize ?? 1000));
  /** Verified tokens by their exact string, oldest use first (a Map keeps insertion order). */
  const verified = new Map<string, Verified>();
  /** Verifications running now, so a burst of one token costs one check. */
  const inFlight = new Map<string, Promise<Verified>>();

  function report(next: KeyHealth): void {
    const changed = next.ok !== health.ok || next.reason !== health.reason;
    health = { ...next, at: now() };
    if (changed) options.onKeyHealth?.(next);
  }
  const keysUnavailable = (reason: string) => {
    report({ ok: false, reason });
    return new HttpError(503, 'keys_unavailable', `Teams signing keys unavailable: ${reason}`);
  };

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
      cooldownDuration: cooldown,
      cacheMaxAge: 24 * 3600_000,
    });
    keys = { set, jwksUri: doc.jwks_uri, loadedAt: now() };
    verified.clear(); // tokens checked against other keys are checked again
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
      throw keysUnavailable(causeOf(error));
    }
  }

  async function checkKeys(): Promise<KeyHealth> {
    // a failed probe is not repeated within the cooldown: probes must not hammer the endpoint
    if (!health.ok && now() - health.at < cooldown) return { ok: false, reason: health.reason };
    try {
      const set = await keySet();
      if (!set.fresh) await set.reload();
      report({ ok: true });
    } catch (error) {
      if (!(error instanceof HttpError)) report({ ok: false, reason: causeOf(error) });
    }
    return { ok: health.ok, ...(health.reason ? { reason: health.reason } : {}) };
  }

  return {
    checkKeys,
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
    if (authorization !== undefined && authorization.length > MAX_TOKEN_CHARS) {
      throw unauthorized('token rejected (too large)');
    }
    const match = /^Bearer\s+(\S+)$/i.exec(authorization?.trim() ?? '');
    const token = match?.[1];
    if (!token) throw unauthorized('missing bearer token');
    if (cacheSize === 0) return (await verifyToken(token)).caller;
    const at = now();
    const hit = verified.get(token);
    if (hit !== undefined) {
      if (at < hit.notBefore)
        throw unauthorized('token rejected (ERR_JWT_CLAIM_VALIDATION_FAILED)');
      if (at <= hit.expires) {
        verified.delete(token); // most recently used goes last
        verified.set(token, hit);
        return hit.caller;
      }
      verified.delete(token);
    }
    let running = inFlight.get(token);
    if (running === undefined) {
      running = verifyToken(token).finally(() => inFlight.delete(token));
      inFlight.set(token, running);
    }
    const result = await running;
    if (now() > result.expires) throw unauthorized('token rejected (ERR_JWT_EXPIRED)');
    if (!verified.has(token)) {
      verified.set(token, result);
      if (verified.size > cacheSize) verified.delete(verified.keys().next().value as string);
    }
    return result.caller;
  }

  /** The full check of one token (signature, claims), its window of use with it. */
  async function verifyToken(token: string): Promise<Verified> {
    const set = await keySet();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keyLookup(set), {
        issuer: issuers,
        audience: options.audience,
        algorithms: ['RS256'],
        clockTolerance: options.clockToleranceSec ?? 300,
        requiredClaims: ['exp', 'tid'],
        currentDate: new Date(now()),
      }));
    } catch (error) {
      // the key set could not be fetched or read: our problem, not the caller's (Teams retries)
      if (error instanceof KeyFetchError) throw keysUnavailable(causeOf(error.cause));
      const reason = error instanceof joseErrors.JOSEError ? error.code : 'ERR_INVALID_TOKEN';
      throw unauthorized(`token rejected (${reason})`);
    }
    if (typeof payload.tid !== 'string' || payload.tid.length === 0) {
      throw unauthorized('token rejected (no tenant)');
    }
    if (payload.tid.length > 64) throw unauthorized('token rejected (tenant id too long)');
    if (!health.ok) report({ ok: true });
    return {
      caller: { tenantId: payload.tid, claims: payload },
      // jwtVerify required exp; nbf is optional
      notBefore: typeof payload.nbf === 'number' ? payload.nbf * 1000 - skewMs : -Infinity,
      expires: (payload.exp as number) * 1000 + skewMs,
    };
  }
}

class KeyFetchError extends Error {}

/**
 * The key set as `jwtVerify` sees it, with a failure to fetch or read the JWKS told apart from
 * a token whose `kid` is simply not in it (the caller's fault, 401).
 */
function keyLookup(set: KeySet): KeySet {
  const lookup = async (...args: Parameters<KeySet>) => {
    try {
      return await set(...args);
    } catch (error) {
      if (
        error instanceof joseErrors.JWKSNoMatchingKey ||
        error instanceof joseErrors.JWKSMultipleMatchingKeys ||
        error instanceof joseErrors.JOSEAlgNotAllowed ||
        error instanceof joseErrors.JOSENotSupported
      ) {
        throw error;
      }
      throw new KeyFetchError('key set unavailable', { cause: error });
    }
  };
  return lookup as KeySet;
}

/** An error's message with its cause (fetch hides a TLS or DNS failure in `cause`). */
function causeOf(error: unknown): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  const cause = e.cause ? ` (${e.cause.code ?? e.cause.message ?? ''})` : '';
  return `${e.message}${cause}`.slice(0, 300);
}
