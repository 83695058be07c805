/**
 * The guards of the operator API: a per-client token bucket (so neither a guessing client nor a
 * runaway console can load the ingress; checked before the token, so guesses are limited too)
 * and the bearer token, compared in constant time on digests (equal lengths, no early exit).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { HttpError } from './http-error.js';

/** Constant-time check of an `Authorization: Bearer <admin token>` header. */
export function isAdmin(token: string | undefined, authorization: string | undefined): boolean {
  if (!token || !authorization) return false;
  const digest = (v: string) => createHash('sha256').update(v).digest();
  return timingSafeEqual(digest(`Bearer ${token}`), digest(authorization.trim()));
}

export function requireAdmin(token: string): MiddlewareHandler {
  return async (c, next) => {
    if (!isAdmin(token, c.req.header('authorization'))) {
      throw new HttpError(401, 'unauthorized', 'a valid admin bearer token is required', {
        'www-authenticate': 'Bearer realm="admin"',
      });
    }
    await next();
  };
}

/** Clients remembered at most; the least recently seen is forgotten first. */
const CLIENTS_MAX = 10_000;

export interface RateLimitOptions {
  /** Requests per minute a client may make; also the burst. */
  perMinute: number;
  now?: () => number;
}

/**
 * One token bucket per client address (the socket's peer; `local` for in-memory requests):
 * `perMinute` tokens, refilled continuously; an empty bucket answers 429 with `Retry-After`.
 */
export function rateLimit(options: RateLimitOptions): MiddlewareHandler {
  const now = options.now ?? Date.now;
  const capacity = options.perMinute;
  const perMs = options.perMinute / 60_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return async (c, next) => {
    const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
    const client = env?.incoming?.socket?.remoteAddress ?? 'local';
    const t = now();
    const seen = buckets.get(client);
    const bucket = seen
      ? { tokens: Math.min(capacity, seen.tokens + (t - seen.at) * perMs), at: t }
      : { tokens: capacity, at: t };
    buckets.delete(client);
    if (buckets.size >= CLIENTS_MAX) buckets.delete(buckets.keys().next().value!);
    if (bucket.tokens < 1) {
      buckets.set(client, bucket);
      const waitS = Math.ceil((1 - bucket.tokens) / perMs / 1000);
      throw new HttpError(429, 'rate_limited', 'too many requests to the admin API', {
        'retry-after': String(Math.max(1, waitS)),
      });
    }
    buckets.set(client, { tokens: bucket.tokens - 1, at: t });
    await next();
  };
}
