/**
 * Graph failures reduced to the one decision a worker needs: may this be retried, and when.
 * 429/503/504 (and transport failures) are transient and may carry `Retry-After`, in seconds
 * that can be fractional (`2.128`) or as an HTTP date (docs/teams-protocol.md#errors-and-retries);
 * every other answer is final.
 */

export class GraphCallError extends Error {
  override name = 'GraphCallError';
  constructor(
    message: string,
    /** HTTP status, or -1 for a transport failure or an abort. */
    readonly status: number,
    /** Graph / comms error code (e.g. `8522`, `TooManyRequests`). */
    readonly code: string | undefined,
    readonly retryable: boolean,
    /** Server-requested wait before the next attempt. */
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
  }
}

const TRANSIENT = new Set([429, 503, 504]);

/** Parse a `Retry-After` value: delta-seconds (fractional allowed) or an HTTP date. */
export function parseRetryAfter(
  value: string | null | undefined,
  now = Date.now(),
): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

interface GraphErrorLike {
  statusCode?: number;
  code?: string | null;
  message?: string;
  headers?: { get(name: string): string | null } | null;
  body?: unknown;
}

/** Map whatever the Graph client threw to a `GraphCallError`. */
export function toGraphCallError(error: unknown): GraphCallError {
  if (error instanceof GraphCallError) return error;
  const e = (error ?? {}) as GraphErrorLike;
  const status = typeof e.statusCode === 'number' ? e.statusCode : -1;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const retryAfterMs = parseRetryAfter(e.headers?.get?.('retry-after'));
  const retryable = status === -1 || TRANSIENT.has(status) || status >= 500;
  const message = `Graph ${status === -1 ? 'request failed' : `answered ${status}`}${
    code ? ` (${code})` : ''
  }: ${e.message ?? String(error)}`;
  return new GraphCallError(message, status, code, retryable, retryAfterMs);
}

const ERROR_BODY_LIMIT = 4096;

/**
 * A non-2xx response as a `GraphCallError`: the status always, the Graph error's code and
 * message when the body is Graph's `{error:{code,message}}`, else the start of whatever the body
 * was (an HTML page from a proxy, nothing at all).
 */
export async function graphErrorFromResponse(response: Response): Promise<GraphCallError> {
  const text = await response.text().catch(() => '');
  let code: string | undefined;
  let detail = text.trim() === '' ? 'empty body' : text.slice(0, 200).replace(/\s+/g, ' ');
  try {
    const parsed = JSON.parse(text.slice(0, ERROR_BODY_LIMIT)) as {
      error?: { code?: unknown; message?: unknown };
    };
    if (typeof parsed.error?.code === 'string') code = parsed.error.code;
    if (typeof parsed.error?.message === 'string') detail = parsed.error.message;
  } catch {
    // not JSON (or too long to be an error object): the status and the body's start say it
  }
  const status = response.status;
  const retryable = TRANSIENT.has(status) || status >= 500;
  const message = `Graph answered ${status}${code ? ` (${code})` : ''}: ${detail}`;
  return new GraphCallError(
    message,
    status,
    code,
    retryable,
    parseRetryAfter(response.headers.get('retry-after')),
  );
}
