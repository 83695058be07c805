/**
 * What one Graph request costs a worker's CPU (part of B1's and B2's worker side, measured
 * apart): sequential answer POSTs to a local HTTPS server (a process of its own, answering 202
 * with no body, Graph's usual shape), timed with the process's CPU clock.
 *
 * - product: the workers' `createGraphCalls` (the Graph client's handlers over undici's
 *   `request`, src/graph/transport.ts)
 * - peer: the Graph client with its default chain over the global `fetch`, as the workers
 *   sent requests before
 * - floor: undici's `request` alone, no Graph client
 *
 * The three alternate within each round; the report gives the median round of each.
 *
 * With `--new-connections` the server closes every connection after its response, as a quiet
 * worker's idle connections close, so each request opens a TLS connection; the floor then runs
 * twice: undici's own pool (which builds a secure context per connection) and the workers'
 * pool (`graphAgent`, one context shared).
 *
 *   npx tsx test/bench/graph-request-cost.ts [requests=3000] [rounds=3] [--new-connections]
 */
import { Client, ResponseType, RetryHandlerOptions } from '@microsoft/microsoft-graph-client';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { ensureDevCerts } from '../../src/dev/certs.js';
import { relaunchTrusting } from '../../src/dev/trusted-relaunch.js';
import { createGraphCalls, type AnswerBody } from '../../src/graph/calls.js';
import { graphAgent } from '../../src/graph/transport.js';

const fresh = process.argv.includes('--new-connections');
const [requestsArg, roundsArg] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const requests = Number(requestsArg ?? 3000);
const rounds = Number(roundsArg ?? 3);
if (!Number.isInteger(requests) || requests < 1 || !Number.isInteger(rounds) || rounds < 1) {
  throw new Error('usage: graph-request-cost.ts [requests] [rounds]');
}
const dir = join(tmpdir(), 'cr-bench-graph');
const relaunched = await relaunchTrusting(dir, 'graph');
if (relaunched !== undefined) process.exit(relaunched);
const certs = await ensureDevCerts(dir, 'graph', 'rsa');

// the server in a process of its own, so this process's CPU clock counts the client alone
const server = spawn(
  process.execPath,
  [
    '-e',
    `const fs = require('node:fs');
     const s = require('node:https').createServer(
       { cert: fs.readFileSync(process.env.CERT), key: fs.readFileSync(process.env.KEY) },
       (req, res) => { req.resume(); req.on('end', () => {
         res.writeHead(202, { 'content-type': 'application/json', 'content-length': '0',
           ...(process.env.CLOSE ? { connection: 'close' } : {}) });
         res.end(); }); });
     s.listen(0, '127.0.0.1', () => console.log(s.address().port));`,
  ],
  {
    env: { ...process.env, CERT: certs.certFile, KEY: certs.keyFile, CLOSE: fresh ? '1' : '' },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const [line] = (await once(server.stdout, 'data')) as [Buffer];
const port = Number(line.toString().trim());
const root = `https://127.0.0.1:${port}`;

const body: AnswerBody = {
  callbackUri: 'https://bot.example.com/api/calling',
  acceptedModalities: ['audio'],
  mediaConfig: { '@odata.type': '#microsoft.graph.appHostedMediaConfig', blob: 'x'.repeat(600) },
};
const path = '/v1.0/communications/calls/c1/answer';
const json = JSON.stringify(body);

const product = createGraphCalls({
  graphBaseUrl: `${root}/v1.0`,
  tokens: { getToken: () => Promise.resolve('token') },
});
const peerClient = Client.initWithMiddleware({
  authProvider: { getAccessToken: () => Promise.resolve('token') },
  baseUrl: `${root}/`,
  customHosts: new Set(['127.0.0.1']),
});
const dispatcher = new Agent();
const shared = graphAgent();
const post = async (through: Agent) => {
  const response = await request(`${root}${path}`, {
    method: 'POST',
    body: json,
    headers: { authorization: 'Bearer token', 'content-type': 'application/json' },
    signal: AbortSignal.timeout(5000),
    dispatcher: through,
  });
  await response.body.dump();
};
const clients: Record<string, () => Promise<void>> = {
  product: () => product.answer('t', 'c1', body, AbortSignal.timeout(5000)),
  ...(fresh
    ? { 'floor, one shared context': () => post(shared) }
    : {
        peer: async () => {
          const response = (await peerClient
            .api('/communications/calls/c1/answer')
            .middlewareOptions([new RetryHandlerOptions(0, 0)])
            .responseType(ResponseType.RAW)
            .option('signal', AbortSignal.timeout(5000))
            .post(body)) as Response;
          await response.arrayBuffer();
        },
      }),
  floor: () => post(dispatcher),
};

/** CPU and wall µs per request over `requests` sequential requests, after a warm-up. */
async function measure(one: () => Promise<void>): Promise<{ cpu: number; wall: number }> {
  for (let i = 0; i < Math.min(500, requests); i += 1) await one();
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  for (let i = 0; i < requests; i += 1) await one();
  const cpu = process.cpuUsage(cpu0);
  return {
    cpu: (cpu.user + cpu.system) / requests,
    wall: ((performance.now() - wall0) * 1000) / requests,
  };
}

const results: Record<string, Array<{ cpu: number; wall: number }>> = {};
for (let round = 0; round < rounds; round += 1) {
  for (const [name, one] of Object.entries(clients)) {
    (results[name] ??= []).push(await measure(one));
  }
}
server.kill();
await dispatcher.close();
await shared.close();

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const floorCpu = median(results.floor!.map((r) => r.cpu));
console.log(
  `${requests} sequential answer POSTs per client and round, ${rounds} rounds (median)` +
    `${fresh ? ', each on a new TLS connection' : ''}\n`,
);
console.log(
  '| client | CPU µs per request | × floor | wall µs per request | every round, CPU µs |',
);
console.log('| --- | --- | --- | --- | --- |');
for (const [name, runs] of Object.entries(results)) {
  const cpu = median(runs.map((r) => r.cpu));
  const wall = median(runs.map((r) => r.wall));
  console.log(
    `| ${name} | ${cpu.toFixed(0)} | ${(cpu / floorCpu).toFixed(2)} | ${wall.toFixed(0)} | ${runs.map((r) => r.cpu.toFixed(0)).join(', ')} |`,
  );
}
process.exit(0);
