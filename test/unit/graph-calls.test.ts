/**
 * The Graph client against a real HTTP server on loopback answering in the shapes real Graph
 * uses: every 2xx is success whatever its body and content type (the empty 202 labelled
 * `application/json` of microsoftgraph/msgraph-sdk-javascript#156 included), and an error keeps
 * its status and a readable message whatever its body is. The transport under the client: the
 * headers Graph expects, redirects followed, a body read only up to its bound, an abort.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as NodeTls from 'node:tls';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraphCalls, type GraphCalls } from '../../src/graph/calls.js';
import { GraphCallError } from '../../src/graph/errors.js';
import { GRAPH_RESPONSE_MAX_BYTES } from '../../src/graph/transport.js';
import { testTls } from '../helpers/system.js';

interface Shape {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}

/** Written from Microsoft's docs: see test/fixtures/teams/README.md. */
const corpus = JSON.parse(
  readFileSync(new URL('../fixtures/teams/graph-responses.json', import.meta.url), 'utf8'),
) as {
  successes: Array<Shape & { name: string }>;
  errors: Array<Shape & { name: string; code?: string; retryable: boolean; retryAfterMs?: number }>;
};

let next: Shape = { status: 202 };
/** Answers instead of `next` while set. */
let custom: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
let server: Server;
let graph: GraphCalls;
const requests: string[] = [];
const seen: Array<{ url: string; headers: IncomingMessage['headers']; body: string }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => seen.push({ url: req.url ?? '', headers: req.headers, body }));
    if (custom) return custom(req, res);
    req.on('end', () => {
      res.writeHead(next.status, next.headers ?? {});
      res.end(next.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  graph = createGraphCalls({
    graphBaseUrl: `http://127.0.0.1:${port}/v1.0`,
    tokens: { getToken: () => Promise.resolve('token') },
  });
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const json = { 'content-type': 'application/json' };
const answer = () =>
  graph.answer(
    't1',
    'call-1',
    {
      callbackUri: 'https://bot.example.com/api/calling',
      acceptedModalities: ['audio'],
      mediaConfig: { '@odata.type': '#microsoft.graph.appHostedMediaConfig', blob: '{}' },
    },
    AbortSignal.timeout(5000),
  );

describe('Graph successes', () => {
  const shapes: Array<[string, Shape]> = [
    ...corpus.successes.map((s): [string, Shape] => [s.name, s]),
    ['200 text/plain', { status: 200, headers: { 'content-type': 'text/plain' }, body: 'OK' }],
    ['201, application/json, not JSON', { status: 201, headers: json, body: '<html>' }],
  ];
  it.each(shapes)('%s is success for every action', async (_name, shape) => {
    next = shape;
    const before = requests.length;
    await answer();
    await graph.keepAlive('t1', 'call-1', AbortSignal.timeout(5000));
    await graph.hangUp('t1', 'call-1', AbortSignal.timeout(5000));
    expect(requests.slice(before)).toEqual([
      'POST /v1.0/communications/calls/call-1/answer',
      'POST /v1.0/communications/calls/call-1/keepAlive',
      'DELETE /v1.0/communications/calls/call-1',
    ]);
  });
});

describe('Graph errors', () => {
  const failure = async (shape: Shape): Promise<GraphCallError> => {
    next = shape;
    const error = await answer().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GraphCallError);
    return error as GraphCallError;
  };

  it('a Graph error body gives its status, code and message', async () => {
    const body = JSON.stringify({ error: { code: '8522', message: 'Call not found' } });
    const e = await failure({ status: 404, headers: json, body });
    expect([e.status, e.code, e.retryable]).toEqual([404, '8522', false]);
    expect(e.message).toBe('Graph answered 404 (8522): Call not found');
  });

  it('an empty error body with a JSON content type still names the status', async () => {
    const e = await failure({ status: 403, headers: json, body: '' });
    expect([e.status, e.code, e.retryable]).toEqual([403, undefined, false]);
    expect(e.message).toBe('Graph answered 403: empty body');
  });

  it('an HTML error page from a proxy is a retryable 503 with its Retry-After', async () => {
    const e = await failure({
      status: 503,
      headers: { 'content-type': 'text/html', 'retry-after': '1.5' },
      body: '<html><body>Service Unavailable</body></html>',
    });
    expect([e.status, e.retryable, e.retryAfterMs]).toEqual([503, true, 1500]);
    expect(e.message).toBe('Graph answered 503: <html><body>Service Unavailable</body></html>');
  });

  it.each(corpus.errors.map((e): [string, (typeof corpus.errors)[number]] => [e.name, e]))(
    '%s keeps its status and says why',
    async (_name, shape) => {
      const e = await failure(shape);
      expect([e.status, e.code, e.retryable]).toEqual([shape.status, shape.code, shape.retryable]);
      if (shape.retryAfterMs !== undefined) expect(e.retryAfterMs).toBe(shape.retryAfterMs);
      expect(e.message).toMatch(new RegExp(`^Graph answered ${shape.status}\\b`));
    },
  );

  it('a transport failure is retryable with status -1', async () => {
    const dead = createGraphCalls({
      graphBaseUrl: 'http://127.0.0.1:1/v1.0',
      tokens: { getToken: () => Promise.resolve('token') },
    });
    const e = await dead.keepAlive('t1', 'c', AbortSignal.timeout(5000)).catch((x: unknown) => x);
    expect(e).toMatchObject({ status: -1, retryable: true });
  });
});

describe('the transport under the client', () => {
  const withServer = async (
    handler: (req: IncomingMessage, res: ServerResponse) => void,
    run: () => Promise<void>,
  ) => {
    custom = handler;
    try {
      await run();
    } finally {
      custom = undefined;
    }
  };

  it('sends the token, a client-request-id and the JSON body Graph expects (https)', async () => {
    // the client adds the token and its telemetry headers for https hosts only
    const got: Array<{ url: string; headers: IncomingMessage['headers']; body: string }> = [];
    const tls = createHttpsServer(testTls(), (req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        got.push({ url: req.url ?? '', headers: req.headers, body });
        res.writeHead(202, json);
        res.end();
      });
    });
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = tls.address() as AddressInfo;
      const secure = createGraphCalls({
        graphBaseUrl: `https://127.0.0.1:${port}/v1.0`,
        tokens: { getToken: (tenantId) => Promise.resolve(`token-of-${tenantId}`) },
      });
      await secure.keepAlive('t9', 'call-9', AbortSignal.timeout(5000));
      const [request] = got;
      expect(request!.url).toBe('/v1.0/communications/calls/call-9/keepAlive');
      expect(request!.headers.authorization).toBe('Bearer token-of-t9');
      expect(request!.headers['content-type']).toMatch(/^application\/json/);
      expect(request!.headers['client-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(request!.headers.sdkversion).toMatch(/^graph-js\//);
      expect(request!.body).toBe('{}');
    } finally {
      tls.closeAllConnections();
      await new Promise((resolve) => tls.close(resolve));
    }
  });

  it('opens every new TLS connection on one secure context instead of building one each', async () => {
    // a quiet worker's connections close while idle, so most of its requests open a new one
    const tls = createHttpsServer(testTls(), (req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(202, { ...json, connection: 'close' });
        res.end();
      });
    });
    let connections = 0;
    tls.on('secureConnection', () => (connections += 1));
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    // node's tls.connect builds a context through the module's export when given none
    const tlsModule = createRequire(import.meta.url)('node:tls') as typeof NodeTls;
    const build = tlsModule.createSecureContext;
    let built = 0;
    try {
      const { port } = tls.address() as AddressInfo;
      const secure = createGraphCalls({
        graphBaseUrl: `https://127.0.0.1:${port}/v1.0`,
        tokens: { getToken: () => Promise.resolve('token') },
      });
      tlsModule.createSecureContext = (options) => {
        built += 1;
        return build(options);
      };
      for (let i = 0; i < 3; i += 1)
        await secure.keepAlive('t1', `call-${i}`, AbortSignal.timeout(5000));
    } finally {
      tlsModule.createSecureContext = build;
      tls.closeAllConnections();
      await new Promise((resolve) => tls.close(resolve));
    }
    expect(connections).toBe(3);
    expect(built).toBe(0);
  });

  it('follows a redirect on the same host, body included', async () => {
    const before = seen.length;
    await withServer(
      (req, res) => {
        req.resume();
        req.on('end', () => {
          if (req.url?.endsWith('/answer')) {
            const { port } = server.address() as AddressInfo;
            res.writeHead(307, { location: `http://127.0.0.1:${port}/v1.0/elsewhere/answer-here` });
            res.end();
          } else {
            res.writeHead(202);
            res.end();
          }
        });
      },
      () => answer(),
    );
    await new Promise((resolve) => setImmediate(resolve));
    const [first, second] = seen.slice(before);
    expect(first!.url).toBe('/v1.0/communications/calls/call-1/answer');
    expect(second!.url).toBe('/v1.0/elsewhere/answer-here');
    expect(second!.body).toBe(first!.body);
  });

  it('reads a huge success body only up to its bound, and still succeeds', async () => {
    let written = 0;
    await withServer(
      (req, res) => {
        req.resume();
        res.writeHead(200, json);
        const chunk = Buffer.alloc(64 * 1024, 'a');
        // far more than the bound; stops when the client closes the connection
        const pump = () => {
          while (written < 64 * 1024 * 1024) {
            written += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
      },
      () => answer(),
    );
    expect(written).toBeLessThan(64 * 1024 * 1024);
  });

  it('an error with a huge body says its status and the body’s start', async () => {
    const e = await withServer(
      (req, res) => {
        req.resume();
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end('x'.repeat(GRAPH_RESPONSE_MAX_BYTES * 4));
      },
      async () => {
        throw await answer().then(
          () => new Error('no error'),
          (error: unknown) => error,
        );
      },
    ).catch((error: unknown) => error);
    expect(e).toBeInstanceOf(GraphCallError);
    expect(e).toMatchObject({ status: 502, retryable: true });
    expect((e as Error).message).toMatch(/^Graph answered 502: x{200}$/);
  });

  it('an abort ends a request Graph never answers, as a retryable transport failure', async () => {
    const started = Date.now();
    const e = await withServer(
      (req) => req.resume(), // never answers
      async () => {
        throw await graph.keepAlive('t1', 'call-1', AbortSignal.timeout(300)).then(
          () => new Error('no error'),
          (error: unknown) => error,
        );
      },
    ).catch((error: unknown) => error);
    expect(e).toMatchObject({ status: -1, retryable: true });
    expect(Date.now() - started).toBeLessThan(4000);
  });
});
