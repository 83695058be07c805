/**
 * The real OTLP/HTTP exporter of real processes delivers to a
 * receiver on loopback. `npm start`'s launcher runs ingress and workers as separate processes
 * with `OTEL_EXPORTER_OTLP_ENDPOINT` set; one call's trace arrives from both services with one
 * trace id (the context crossed BullMQ), and the metrics arrive too.
 */
import type { ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/dev/local-redis.js';
import type { Simulator } from '@cr-orchestrator/teams-simulator';
import { startRoleProcess } from '../helpers/role-process.js';
import { deleteByPrefix, plainRedis, uniquePrefix } from '../helpers/redis.js';
import { eventually, testOrchestratorEnv, testSimulator } from '../helpers/system.js';

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: OtlpAttribute[];
}
interface ReceivedSpan extends OtlpSpan {
  service: string;
}

const prefix = uniquePrefix('otlp');
const received = { spans: [] as ReceivedSpan[], metrics: new Set<string>(), requests: 0 };
let receiver: Server;
let sim: Simulator;
let launcher: ChildProcess;
let output = (): string => '';
const children: ChildProcess[] = [];

const attrOf = (attrs: OtlpAttribute[] | undefined, key: string) => {
  const v = attrs?.find((a) => a.key === key)?.value;
  return v?.stringValue ?? v?.intValue;
};

/** A minimal OTLP/HTTP JSON receiver: what a collector's `otlp` receiver accepts. */
function startReceiver(): Promise<number> {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.requests += 1;
      const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as {
        resourceSpans?: {
          resource?: { attributes?: OtlpAttribute[] };
          scopeSpans?: { spans?: OtlpSpan[] }[];
        }[];
        resourceMetrics?: { scopeMetrics?: { metrics?: { name: string }[] }[] }[];
      };
      if (req.url === '/v1/traces') {
        for (const rs of body.resourceSpans ?? []) {
          const service = String(attrOf(rs.resource?.attributes, 'service.name'));
          for (const ss of rs.scopeSpans ?? [])
            for (const span of ss.spans ?? []) received.spans.push({ ...span, service });
        }
      } else if (req.url === '/v1/metrics') {
        for (const rm of body.resourceMetrics ?? [])
          for (const sm of rm.scopeMetrics ?? [])
            for (const m of sm.metrics ?? []) received.metrics.add(m.name);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) =>
    receiver.listen(0, '127.0.0.1', () => resolve((receiver.address() as AddressInfo).port)),
  );
}

beforeAll(async () => {
  const otlpPort = await startReceiver();
  const port = await freePort();
  sim = await testSimulator(`http://127.0.0.1:${port}/api/calling`);
  const env = {
    ...testOrchestratorEnv(sim, prefix, port),
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlpPort}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    // nothing is exported on a schedule during the test: what arrives, the shutdown flushed
    OTEL_BSP_SCHEDULE_DELAY: '600000',
    OTEL_METRIC_EXPORT_INTERVAL: '600000',
  };
  const role = startRoleProcess('src/process/launcher.ts', env, children, { capture: true });
  launcher = role.child;
  output = role.output;
  await eventually(
    async () => {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    },
    20_000,
    'the orchestrator to become ready',
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}\n${output()}`);
  });
}, 30_000);

afterAll(async () => {
  if (launcher?.exitCode === null) launcher.kill('SIGKILL');
  await sim?.close();
  await new Promise((r) => receiver?.close(r));
  const redis = plainRedis();
  await deleteByPrefix(redis, prefix);
  await redis.quit();
});

describe('the OTLP exporter of real processes', () => {
  it('flushes one call’s trace from ingress and workers, and the metrics, when stopped', async () => {
    const call = await sim.placeCall({ kind: 'p2p' });
    await call.waitFor('established', 8000);
    await new Promise((r) => setTimeout(r, 300));
    expect(received.spans.filter((s) => s.name.startsWith('applyEvent'))).toEqual([]);
    const exit = new Promise<number | null>((r) => launcher.once('exit', (code) => r(code)));
    launcher.kill('SIGTERM');
    expect(await exit).toBe(0);

    const incoming = received.spans.find(
      (s) =>
        s.name === 'applyEvent CALL.INCOMING' && attrOf(s.attributes, 'cr.call.id') === call.id,
    );
    expect(incoming?.service).toBe('cr-orchestrator-ingress');
    const inTrace = received.spans.filter((s) => s.traceId === incoming?.traceId);
    const enqueue = inTrace.find((s) => s.name === 'enqueue graph.answer');
    expect(enqueue?.service).toBe('cr-orchestrator-ingress');
    // the context crossed BullMQ into the other process
    const job = inTrace.find((s) => s.name === 'process graph.answer');
    expect(job?.service).toBe('cr-orchestrator-workers');
    expect(job?.parentSpanId).toBe(enqueue?.spanId);
    expect(inTrace.some((s) => s.name === 'applyEvent GRAPH.ANSWER_ACCEPTED')).toBe(true);
    expect(received.metrics).toContain('cr.invites');
    expect(received.metrics).toContain('cr.answer.latency');
    expect(received.metrics).toContain('cr.queue.wait');
  });
});
