/**
 * `npm run demo`: a Redis (reused, or a private one started here), the orchestrator (`npm start`
 * roles as child processes: ingress + workers) and the Teams simulator with generated keys and
 * certificates; places a handful of calls — 1:1 and meeting, one rejected by policy, one whose
 * first answer hits a Graph 429 — and prints each call's path and answer latency. Exits 0 when
 * every call ended as expected. In a terminal (or with `--keep-open`) it then keeps running so
 * the operator console at /admin/ can be looked at (the admin token is written to
 * `.demo/admin-token`, never printed); Ctrl-C stops it. `--exit` never waits.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { ensureDevCerts } from '../dev/certs.js';
import { relaunchTrusting } from '../dev/trusted-relaunch.js';
import { localOrchestratorEnv } from '../dev/local-env.js';
import { ensureRedis, freePort } from '../dev/local-redis.js';
import {
  startSimulator,
  type PlaceCallOptions,
  type SimCall,
} from '@cr-orchestrator/teams-simulator';
import { startTelemetry } from '../telemetry/sdk.js';
import { describeRecording, printSummary, readCallRecord, type DemoRow } from './summary.js';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const work = join(root, '.demo');
const BLOCKED_TENANT = 'b10cked0-0000-4000-8000-000000000001';
const BOT_APP_ID = randomUUID();
const BOT_APP_SECRET = randomUUID();
// the operator's token: given, or a fresh one written to .demo/admin-token (mode 600)
const ADMIN_TOKEN = process.env.ADMIN_TOKEN ?? randomUUID();
const KEEP_OPEN = process.argv.includes('--keep-open')
  ? true
  : process.argv.includes('--exit')
    ? false
    : process.stdout.isTTY === true && process.stdin.isTTY === true;

interface Scenario {
  label: string;
  options: PlaceCallOptions;
  expect: 'terminated' | 'rejected';
  fault?: { status: number; retryAfter: string };
  /** The simulator's media peer does not connect. @default false */
  noMedia?: boolean;
  /** An operator ends the call through the admin API once recording runs. */
  operatorHangUp?: boolean;
}

const scenarios: Scenario[] = [
  { label: '1:1 call', options: { kind: 'p2p', holdMs: 1500 }, expect: 'terminated' },
  { label: 'meeting join', options: { kind: 'meeting', holdMs: 1500 }, expect: 'terminated' },
  {
    label: '1:1, established before establishing',
    options: { kind: 'p2p', holdMs: 1500, swapEstablishOrder: true },
    expect: 'terminated',
  },
  {
    label: '1:1, every notification delivered twice',
    options: { kind: 'p2p', holdMs: 1500, duplicateNotifications: true },
    expect: 'terminated',
  },
  {
    label: 'meeting, Graph answers 429 first',
    options: { kind: 'meeting', holdMs: 1500 },
    expect: 'terminated',
    fault: { status: 429, retryAfter: '0.5' },
  },
  {
    label: '1:1, no media arrives: recording reported failed',
    options: { kind: 'p2p', holdMs: 3500, media: false },
    expect: 'terminated',
    noMedia: true,
  },
  {
    label: 'meeting ended by an operator: notRecording, then hang-up',
    options: { kind: 'meeting' },
    expect: 'terminated',
    operatorHangUp: true,
  },
  {
    label: 'tenant blocked by policy',
    options: { kind: 'p2p', tenantId: BLOCKED_TENANT },
    expect: 'rejected',
  },
];

async function main(): Promise<number> {
  // the simulator's media peer runs in this process and must trust the media endpoint
  const relaunched = await relaunchTrusting(join(work, 'certs'), 'demo');
  if (relaunched !== undefined) return relaunched;
  // with OTEL_* set, the simulator's deliveries and Graph handlers join the calls' traces
  const telemetry = startTelemetry({ role: 'simulator' });
  const redis = await ensureRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  console.log(
    redis.started ? `started a private Redis at ${redis.url}` : `using Redis at ${redis.url}`,
  );
  const certs = await ensureDevCerts(join(work, 'certs'), 'demo', 'rsa');
  const mediaCerts = await ensureDevCerts(join(work, 'certs'), 'media', 'ec');
  const recordingsDir = join(work, 'recordings');
  const policyFile = join(work, 'policy.yaml');
  await mkdir(work, { recursive: true });
  await writeFile(
    policyFile,
    `# demo answer policy: answer everything except one tenant\nrules:\n  - name: blocked-tenant\n    tenantIds: [${BLOCKED_TENANT}]\n    reason: forbidden\n`,
  );
  const port = await freePort();
  const prefix = `demo-${randomUUID().slice(0, 8)}`;
  const sim = await startSimulator({
    botAppId: BOT_APP_ID,
    botAppSecret: BOT_APP_SECRET,
    webhookUrl: `http://127.0.0.1:${port}/api/calling`,
    tls: { cert: certs.cert, key: certs.key },
    media: { enabled: true },
  });
  const env = {
    ...process.env,
    ...localOrchestratorEnv({
      sim,
      botAppId: BOT_APP_ID,
      botAppSecret: BOT_APP_SECRET,
      redisUrl: redis.url,
      redisKeyPrefix: prefix,
      port,
    }),
    POLICY_FILE: policyFile,
    NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? certs.certFile,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    MEDIA_TLS_CERT_FILE: mediaCerts.certFile,
    MEDIA_TLS_KEY_FILE: mediaCerts.keyFile,
    MEDIA_PUBLIC_HOST: 'localhost',
    MEDIA_HOST: '127.0.0.1',
    MEDIA_PORT: String(await freePort()),
    RECORDINGS_DIR: recordingsDir,
    MEDIA_ARRIVAL_TIMEOUT_MS: '2000',
    ADMIN_TOKEN,
  };
  const orchestrator = spawn(
    process.execPath,
    [...process.execArgv, join(root, 'src/process/launcher.ts')],
    {
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const exited = new Promise<number>((r) => orchestrator.once('exit', (code) => r(code ?? 1)));
  const reader = new Redis(redis.url);
  const base = `http://127.0.0.1:${port}`;
  let ok = false;
  try {
    await waitForReady(`http://127.0.0.1:${port}/readyz`, exited);
    console.log(`orchestrator ready on http://127.0.0.1:${port}; simulator at ${sim.baseUrl}`);
    const tokenFile = join(work, 'admin-token');
    await writeFile(tokenFile, `${ADMIN_TOKEN}\n`, { mode: 0o600 });
    console.log(
      `operator console: ${base}/admin/ (sign in with the token in ${tokenFile}${process.env.ADMIN_TOKEN ? ', your ADMIN_TOKEN' : ''})\n`,
    );
    const placed: Array<{ scenario: Scenario; call: SimCall }> = [];
    const drivers: Promise<void>[] = [];
    for (const scenario of scenarios) {
      const callId = randomUUID();
      if (scenario.fault) sim.addFault({ route: 'answer', callId, times: 1, ...scenario.fault });
      const call = await sim.placeCall({ ...scenario.options, callId });
      placed.push({ scenario, call });
      if (scenario.operatorHangUp) drivers.push(operatorHangUp(call, base));
      await new Promise((r) => setTimeout(r, 150));
    }
    await Promise.all(drivers);
    await Promise.all(placed.map(({ call }) => call.waitFor('terminated', 15_000)));
    await new Promise((r) => setTimeout(r, 300)); // let the last notifications commit
    const rows: DemoRow[] = [];
    for (const { scenario, call } of placed) {
      const record = await readCallRecord(reader, prefix, call.id);
      const recording = await describeRecording(join(recordingsDir, call.id));
      rows.push({ label: scenario.label, call, record, expected: scenario.expect, recording });
    }
    ok = printSummary(rows);
    if (KEEP_OPEN) {
      console.log(
        `\nThe orchestrator keeps running for the operator console at ${base}/admin/ ` +
          `(token in ${join(work, 'admin-token')}); Ctrl-C stops it.`,
      );
      await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM'), exited]);
    }
  } finally {
    orchestrator.kill('SIGTERM');
    const code = await Promise.race([
      exited,
      new Promise<number>((r) => setTimeout(r, 20_000, -1)),
    ]);
    if (code === -1) orchestrator.kill('SIGKILL');
    await sim.close();
    const keys = await reader.keys(`${prefix}:*`);
    const queueKeys = await reader.keys(`{${prefix}-q}*`);
    if (keys.length + queueKeys.length > 0) await reader.del(...keys, ...queueKeys);
    await reader.quit();
    await redis.stop();
    await telemetry.shutdown();
  }
  return ok ? 0 : 1;
}

/** An operator ends the call through the admin API a moment after recording started. */
async function operatorHangUp(call: SimCall, base: string): Promise<void> {
  await call.waitFor('established', 10_000);
  while (call.recordingConfirmedAt === undefined) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 500));
  const res = await fetch(`${base}/admin/api/calls/${call.id}/hangup`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  if (res.status !== 202) throw new Error(`operator hang-up answered ${res.status}`);
}

async function waitForReady(url: string, exited: Promise<number>): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  for (let i = 0; i < 300; i += 1) {
    if (gone) throw new Error('the orchestrator exited during start-up (see its log above)');
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`orchestrator not ready at ${url} after 30 s`);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
