/**
 * Shared set-up for the simulator tests: a simulator on a free port with the test certificate
 * (made by test/global-setup.ts and trusted through NODE_EXTRA_CA_CERTS) and a bot stub whose
 * webhook it calls.
 */
import { readFile } from 'node:fs/promises';
import {
  generateSimulatorKeys,
  startSimulator,
  type SimulatorKeys,
  type SimCall,
  type Simulator,
  type SimulatorOptions,
} from '../src/index.js';
import { answerBody, graphSide, startBotStub, type BotStub, type GraphSide } from './bot-stub.js';

export const APP_ID = 'b0710000-0000-4000-8000-000000000001';
export const APP_SECRET = 'test-secret';

export interface Harness {
  sim: Simulator;
  bot: BotStub;
  graph: GraphSide;
  close(): Promise<void>;
}

export async function testTls(): Promise<{ cert: string; key: string }> {
  const certFile = process.env.TEST_CERT_FILE;
  const keyFile = process.env.TEST_KEY_FILE;
  if (!certFile || !keyFile)
    throw new Error('TEST_CERT_FILE/TEST_KEY_FILE unset: global setup missing');
  const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  return { cert, key };
}

/** One pair of signing keys for the process's simulators (an RSA key costs ≈ 150 ms of CPU). */
let keys: Promise<SimulatorKeys> | undefined;

export async function startHarness(opts: Partial<SimulatorOptions> = {}): Promise<Harness> {
  const sim = await startSimulator({
    botAppId: APP_ID,
    botAppSecret: APP_SECRET,
    webhookUrl: 'http://127.0.0.1:9/unset',
    tls: await testTls(),
    establishDelayMs: 20,
    keys: (keys ??= generateSimulatorKeys()),
    ...opts,
  });
  const bot = await startBotStub(sim.openIdConfigUrl, APP_ID);
  sim.webhookUrl = `${bot.url}/api/calling`;
  const graph = graphSide(sim, APP_ID, APP_SECRET);
  return {
    sim,
    bot,
    graph,
    close: async () => {
      await sim.close();
      await bot.close();
    },
  };
}

/**
 * The per-call callback URL a bot would pin a call to (docs/teams-protocol.md#callback-routing).
 */
export const callbackFor = (h: Harness, callId: string): string =>
  `${h.bot.url}/api/calling/notification/${callId}`;

/** The statuses real Graph answers a successful call action with (the simulator varies them). */
export const GRAPH_SUCCESS = [200, 202, 204];

/** POST a Graph action for a call with a token for its tenant. */
export const graphAction = (
  h: Harness,
  call: { id: string; tenantId: string },
  action: string,
  body?: unknown,
): Promise<Response> =>
  h.graph.post(`/communications/calls/${call.id}/${action}`, body, call.tenantId);

/** Answer with the call's own callbackUri and wait until 'established' was delivered. */
export async function establish(h: Harness, call: SimCall): Promise<void> {
  const res = await graphAction(h, call, 'answer', answerBody(callbackFor(h, call.id)));
  if (!GRAPH_SUCCESS.includes(res.status))
    throw new Error(`answer failed: ${res.status} ${await res.text()}`);
  await call.waitFor('established');
}
