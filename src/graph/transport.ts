/**
 * The last link of the Graph client's middleware chain: sends the request with undici's
 * `request` instead of the global `fetch` the client's own HTTPMessageHandler uses. Same
 * connection pool semantics (keep-alive, one request per connection at a time), same traces
 * (instrumentation-undici listens on undici's diagnostics channels, which both publish), about
 * half the CPU per request: `fetch` builds WHATWG Request, Headers and stream objects around
 * every request and response, which a worker that only reads the status, a few headers and at
 * most a small error body does not need.
 *
 * The response body is read up to `maxBodyBytes` (a Graph action answers with nothing, `{}` or a
 * small operation or error object); past that the rest is dropped and the connection closed,
 * so a misbehaving server or proxy cannot make a worker buffer without bound. Redirects are not
 * followed here: the client's RedirectHandler, earlier in the chain, sees the 3xx and does that.
 */
import { createSecureContext } from 'node:tls';
import type { Context, Middleware } from '@microsoft/microsoft-graph-client';
import { Agent, request, type Dispatcher } from 'undici';

/** Bytes of a response body kept at most (an error object is well under 1 KB). */
export const GRAPH_RESPONSE_MAX_BYTES = 64 * 1024;

/** Statuses whose Response may not carry a body. */
const NO_BODY = new Set([204, 205, 304]);

function headerRecord(init: RequestInit['headers']): Record<string, string> {
  return init === undefined ? {} : Object.fromEntries(new Headers(init));
}

/**
 * A connection pool whose TLS connections share one secure context (the default trust store,
 * with NODE_EXTRA_CA_CERTS). Without it every new connection builds its own, which a quiet
 * worker (its idle connections close after 4 s) pays on most requests: 0.6 ms of CPU more per
 * request on a new connection (test/bench/graph-request-cost.ts --new-connections).
 */
export function graphAgent(): Agent {
  return new Agent({ connect: { secureContext: createSecureContext() } });
}

export class UndiciTransport implements Middleware {
  constructor(
    private readonly dispatcher: Dispatcher = graphAgent(),
    private readonly maxBodyBytes = GRAPH_RESPONSE_MAX_BYTES,
  ) {}

  async execute(context: Context): Promise<void> {
    // the client passes the URL as a string; a Request is taken by its url all the same
    const target: unknown = context.request;
    const url = typeof target === 'string' ? target : (target as { url: string }).url;
    const options = context.options ?? {};
    const body = options.body;
    if (body !== undefined && body !== null && typeof body !== 'string') {
      // the calls this orchestrator makes post JSON, which the client serializes to a string
      throw new TypeError('the Graph transport sends string bodies only');
    }
    const res = await request(url, {
      method: options.method ?? 'GET',
      headers: headerRecord(options.headers),
      body: body ?? null,
      signal: options.signal ?? undefined,
      dispatcher: this.dispatcher,
    });
    const chunks: Buffer[] = [];
    let kept = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      if (kept + chunk.length > this.maxBodyBytes) {
        chunks.push(chunk.subarray(0, this.maxBodyBytes - kept));
        res.body.destroy();
        break;
      }
      chunks.push(chunk);
      kept += chunk.length;
    }
    const headers = new Headers();
    for (const [name, value] of Object.entries(res.headers)) {
      if (value === undefined) continue;
      for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
    }
    const status = res.statusCode;
    context.response = new Response(NO_BODY.has(status) ? null : Buffer.concat(chunks), {
      status,
      headers,
    });
  }
}
