/**
 * The Graph client against a real HTTP server on loopback answering in the shapes real Graph
 * uses: every 2xx is success whatever its body and content type (the empty 202 labelled
 * `application/json` of microsoftgraph/msgraph-sdk-javascript#156 included), and an error keeps
 * its status and a readable message whatever its body is.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraphCalls, type GraphCalls } from '../../src/graph/calls.js';
import { GraphCallError } from '../../src/graph/errors.js';

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
let server: Server;
let graph: GraphCalls;
const requests: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    req.resume();
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
