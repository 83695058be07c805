/**
 * Calls through the whole system, traced into a real Jaeger through the real collector: the
 * launcher runs ingress, workers and media as processes, the simulator runs here; all four
 * export OTLP to the collector of otel-collector.yaml, which forwards to Jaeger. Per call the
 * test reads Jaeger's query API: the invite is one trace from the simulator's webhook delivery
 * through ingress and workers down to the Graph request, later traces link to it, call and
 * tenant ids are searchable, nothing secret or personal is stored, and the span count is
 * bounded. It ends with a screenshot of one trace in the Jaeger UI (headless Chromium).
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from '../helpers/console-browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObservabilityStack } from '../../src/dev/observability-stack.js';
import { freePort } from '../../src/dev/local-redis.js';
import type { SimCall, Simulator } from '@cr-orchestrator/teams-simulator';
import { startTelemetry, type Telemetry } from '../../src/telemetry/sdk.js';
import { killAll, startRoleProcess, type RoleProcess } from '../helpers/role-process.js';
import { deleteByPrefix, plainRedis, uniquePrefix } from '../helpers/redis.js';
import {
  BOT_APP_SECRET,
  eventually,
  mediaEnv,
  testOrchestratorEnv,
  testSimulator,
} from '../helpers/system.js';
import {
  findTraces,
  getTrace,
  serviceOf,
  startTestStack,
  tagOf,
  waitForTraces,
  type JaegerTrace,
} from './jaeger.js';

const INGRESS = 'cr-orchestrator-ingress';
const WORKERS = 'cr-orchestrator-workers';
const MEDIA = 'cr-orchestrator-media';
const SIMULATOR = 'cr-orchestrator-simulator';
const BLOCKED_TENANT = '11111111-2222-4333-8444-555555555555';
/** A call's spans across all its traces stay below this (a minute-long call here). */
const MAX_SPANS_PER_CALL = 250;

const prefix = uniquePrefix('e2e-traces');
const children: ChildProcess[] = [];
let stack: ObservabilityStack;
let sim: Simulator;
let telemetry: Telemetry;
let launcher: RoleProcess;
let scratch: string;
let recordingsDir = '';
const calls: Record<'answered' | 'rejected' | 'throttled' | 'media' | 'expired', SimCall> =
  {} as never;

beforeAll(async () => {
  stack = await startTestStack();
  // the simulator (this process) is traced too: its webhook delivery is the invite trace's root
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = stack.otlpHttpUrl;
  process.env.OTEL_BSP_SCHEDULE_DELAY = '200';
  telemetry = startTelemetry({
    role: 'simulator',
    settings: { enabled: true, serviceName: undefined },
  });
  scratch = await mkdtemp(join(tmpdir(), 'cr-e2e-'));
  const policyFile = join(scratch, 'policy.yaml');
  await writeFile(
    policyFile,
    `rules:\n  - name: suspended\n    tenantIds: [${BLOCKED_TENANT}]\n    reason: forbidden\n`,
  );
  const port = await freePort();
  sim = await testSimulator(`http://127.0.0.1:${port}/api/calling`, {
    // keep-alive expiry on a compressed clock: 1 s keepAlives, the platform gives up after 3 s
    keepAliveTimeoutMs: 3000,
    media: { enabled: false, paceMs: 10 },
  });
  const media = await mediaEnv();
  recordingsDir = media.RECORDINGS_DIR ?? '';
  const env = {
    ...testOrchestratorEnv(sim, prefix, port),
    ...media,
    POLICY_FILE: policyFile,
    KEEPALIVE_INTERVAL_MS: '1000',
    EFFECT_BUDGET_MS: '3000',
    OTEL_EXPORTER_OTLP_ENDPOINT: stack.otlpHttpUrl,
    OTEL_BSP_SCHEDULE_DELAY: '200',
    OTEL_METRIC_EXPORT_INTERVAL: '1000',
  };
  launcher = startRoleProcess('src/process/launcher.ts', env, children, { capture: true });
  await eventually(
    async () => {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    },
    30_000,
    'the orchestrator to become ready',
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}\n${launcher.output()}`);
  });

  // answered, then hung up by the remote side
  calls.answered = await sim.placeCall({ kind: 'p2p' });
  await calls.answered.waitFor('established', 10_000);
  await calls.answered.hangUp();
  // rejected by the answer policy
  calls.rejected = await sim.placeCall({ kind: 'p2p', tenantId: BLOCKED_TENANT });
  await calls.rejected.waitFor('terminated', 10_000);
  // Graph answers the first answer request 429, the retry succeeds
  const throttledId = randomUUID();
  sim.addFault({ route: 'answer', status: 429, retryAfter: '0.2', callId: throttledId });
  calls.throttled = await sim.placeCall({ kind: 'meeting', callId: throttledId });
  await calls.throttled.waitFor('established', 10_000);
  await calls.throttled.hangUp();
  // media streamed to the media process and recorded
  calls.media = await sim.placeCall({ kind: 'p2p', media: true });
  await calls.media.waitFor('established', 10_000);
  await eventually(() => calls.media.recordingConfirmedAt, 15_000, 'recording confirmed');
  await new Promise((r) => setTimeout(r, 500));
  await calls.media.hangUp();
  // every keepAlive of this call fails, so the platform ends it (408)
  const expiredId = randomUUID();
  sim.addFault({ route: 'keepAlive', status: 503, times: Infinity, callId: expiredId });
  calls.expired = await sim.placeCall({ kind: 'p2p', callId: expiredId });
  await calls.expired.waitFor('terminated', 20_000);

  // SIGTERM: every role flushes its spans before it exits
  launcher.child.kill('SIGTERM');
  expect(await launcher.exit).toBe(0);
  await telemetry.forceFlush();
}, 180_000);

afterAll(async () => {
  await killAll(children);
  await telemetry?.shutdown();
  await sim?.close();
  await stack?.stop();
  const redis = plainRedis();
  await deleteByPrefix(redis, prefix);
  await redis.quit();
  if (scratch) await rm(scratch, { recursive: true, force: true });
  if (recordingsDir) await rm(recordingsDir, { recursive: true, force: true });
});

/** Every trace in Jaeger with the call's id, from any service, once the invite trace is in. */
async function tracesOf(call: SimCall): Promise<JaegerTrace[]> {
  const tags = { 'cr.call.id': call.id };
  await waitForTraces(stack.jaegerUrl, INGRESS, tags, (ts) =>
    ts.some((t) => t.spans.some((s) => s.operationName === 'applyEvent CALL.INCOMING')),
  );
  const byId = new Map<string, JaegerTrace>();
  for (const service of [INGRESS, WORKERS, MEDIA, SIMULATOR])
    for (const t of await findTraces(stack.jaegerUrl, service, tags)) byId.set(t.traceID, t);
  // a search returns a trace's matching spans' whole trace; fetch each once more to be sure
  return Promise.all([...byId.keys()].map((id) => getTrace(stack.jaegerUrl, id)));
}

const inviteTrace = (traces: JaegerTrace[]) => {
  const t = traces.find((x) => x.spans.some((s) => s.operationName === 'applyEvent CALL.INCOMING'));
  if (!t) throw new Error('no invite trace');
  return t;
};

/** Spans whose parent is not in the trace (must be exactly the one root). */
const roots = (trace: JaegerTrace) => {
  const ids = new Set(trace.spans.map((s) => s.spanID));
  return trace.spans.filter(
    (s) => !s.references.some((r) => r.refType === 'CHILD_OF' && ids.has(r.spanID)),
  );
};

const depth = (trace: JaegerTrace): number => {
  const parent = new Map(
    trace.spans.map((s) => [s.spanID, s.references.find((r) => r.refType === 'CHILD_OF')?.spanID]),
  );
  let max = 0;
  for (const s of trace.spans) {
    let d = 1;
    for (let p = parent.get(s.spanID); p && parent.has(p); p = parent.get(p)) d++;
    max = Math.max(max, d);
  }
  return max;
};

/** What Jaeger shows of one call, for the report and the docs. */
function shape(traces: JaegerTrace[]) {
  const invite = inviteTrace(traces);
  return {
    traces: traces.length,
    spans: traces.reduce((n, t) => n + t.spans.length, 0),
    inviteSpans: invite.spans.length,
    inviteDepth: depth(invite),
    services: [...new Set(invite.spans.map((s) => serviceOf(invite, s)))].sort(),
  };
}

function checkInviteTrace(trace: JaegerTrace, call: SimCall, graphOperation: string) {
  // one tree: one root (the simulator's delivery), every parent id present
  const [root, ...orphans] = roots(trace);
  expect(orphans.map((s) => s.operationName)).toEqual([]);
  expect(root?.references.filter((r) => r.refType === 'CHILD_OF')).toEqual([]);
  expect(serviceOf(trace, root!)).toBe(SIMULATOR);
  const services = new Set(trace.spans.map((s) => serviceOf(trace, s)));
  expect(services).toContain(INGRESS);
  expect(services).toContain(WORKERS);
  const incoming = trace.spans.find((s) => s.operationName === 'applyEvent CALL.INCOMING')!;
  expect(serviceOf(trace, incoming)).toBe(INGRESS);
  expect(tagOf(incoming, 'cr.call.id')).toBe(call.id);
  // down to the Graph request, made by the workers, under the job that the ingress enqueued
  const graph = trace.spans.filter(
    (s) => tagOf(s, 'cr.graph.operation') === graphOperation && tagOf(s, 'span.kind') === 'client',
  );
  expect(graph.length).toBeGreaterThan(0);
  for (const g of graph) expect(serviceOf(trace, g)).toBe(WORKERS);
  const job = trace.spans.find((s) => s.operationName === `process graph.${graphOperation}`);
  const enqueue = trace.spans.find((s) => s.operationName === `enqueue graph.${graphOperation}`);
  expect(serviceOf(trace, enqueue!)).toBe(INGRESS);
  expect(job?.references[0]?.spanID).toBe(enqueue?.spanID);
}

/** The later traces of the call link (FOLLOWS_FROM) to its invite trace. */
function linkedTraces(traces: JaegerTrace[], invite: JaegerTrace): JaegerTrace[] {
  return traces.filter(
    (t) =>
      t !== invite &&
      t.spans.some((s) =>
        s.references.some((r) => r.refType === 'FOLLOWS_FROM' && r.traceID === invite.traceID),
      ),
  );
}

function checkNothingSecret(traces: JaegerTrace[], call: SimCall) {
  const stored = JSON.stringify(traces);
  expect(stored).not.toContain(BOT_APP_SECRET);
  expect(stored).not.toMatch(/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/); // no JWT
  expect(stored.toLowerCase()).not.toContain('bearer');
  // participant identities: the recorded user's and everyone else's in the roster
  expect(stored).not.toContain(call.userId);
  for (const p of call.participants) {
    for (const value of Object.values(p))
      if (typeof value === 'string' && value.length > 6 && value !== call.id)
        expect(stored).not.toContain(value);
  }
}

const report: Record<string, ReturnType<typeof shape>> = {};

describe('traces of calls in Jaeger', () => {
  it.each([
    ['answered', 'answer'],
    ['throttled', 'answer'],
    ['media', 'answer'],
    ['expired', 'answer'],
    ['rejected', 'reject'],
  ] as const)('%s call: one invite trace down to Graph, later traces linked', async (kind, op) => {
    const call = calls[kind];
    const traces = await tracesOf(call);
    const invite = inviteTrace(traces);
    checkInviteTrace(invite, call, op);
    checkNothingSecret(traces, call);
    const linked = linkedTraces(traces, invite);
    if (kind !== 'rejected') expect(linked.length).toBeGreaterThan(0);
    // every trace of the call is the invite trace or links to it
    expect(traces.length).toBe(1 + linked.length);
    // searchable by tenant id too
    const byTenant = await findTraces(stack.jaegerUrl, INGRESS, { 'cr.tenant.id': call.tenantId });
    expect(byTenant.map((t) => t.traceID)).toContain(invite.traceID);
    report[kind] = shape(traces);
    expect(report[kind].spans).toBeLessThan(MAX_SPANS_PER_CALL);

    if (kind === 'throttled') {
      const attempts = invite.spans.filter((s) => s.operationName === 'process graph.answer');
      expect(attempts.length).toBe(2);
      const statuses = invite.spans
        .filter(
          (s) => tagOf(s, 'cr.graph.operation') === 'answer' && tagOf(s, 'span.kind') === 'client',
        )
        .map((s) => tagOf(s, 'http.response.status_code'));
      // the 429, then a success in whichever shape Graph chose (200, 202 or 204)
      expect(statuses).toHaveLength(2);
      expect(statuses).toContain(429);
      expect(statuses.filter((s) => Number(s) >= 200 && Number(s) < 300)).toHaveLength(1);
    }
    if (kind === 'media') {
      const mediaSpans = linked.flatMap((t) => t.spans.filter((s) => serviceOf(t, s) === MEDIA));
      expect(mediaSpans.map((s) => s.operationName)).toContain('media.handshake');
    }
    if (kind === 'expired') {
      const timers = linked.flatMap((t) => t.spans).map((s) => s.operationName);
      expect(timers).toContain('process timers.keepAlive');
    }
  });

  it('shows one call in the Jaeger UI (screenshot)', async () => {
    const call = calls.media;
    const invite = inviteTrace(await tracesOf(call));
    const userDataDir = await mkdtemp(join(tmpdir(), 'cr-chromium-'));
    const browser = await launchChromium(userDataDir, { width: 1400, height: 900 });
    try {
      const page = await browser.newPage();
      await page.goto(`${stack.jaegerUrl}/trace/${invite.traceID}`);
      await page.getByText('applyEvent CALL.INCOMING').first().waitFor({ timeout: 20_000 });
      await mkdir('test-results', { recursive: true });
      await page.screenshot({ path: 'test-results/jaeger-trace.png' });
    } finally {
      await browser.close();
      await rm(userDataDir, { recursive: true, force: true });
    }
    console.log(`span counts per call: ${JSON.stringify(report, null, 1)}`);
  });
});
