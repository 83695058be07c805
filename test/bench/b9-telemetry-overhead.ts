/**
 * B9 telemetry-overhead: B1 (answer latency) and B2 (ordered notifications) with tracing off,
 * 10 % and 100 % of traces sampled, exported over OTLP/HTTP to a real receiver: the
 * OpenTelemetry Collector with this repository's otel-collector.yaml and Jaeger behind it
 * (both built by `npm run tools`), or, when they have not been built, the minimal OTLP/HTTP
 * receiver b9-otlp-receiver.ts (the report says which). Off means OTEL_SDK_DISABLED=true.
 * Sampling is the SDK's own `parentbased_traceidratio`. The three modes run one after the
 * other, each on fresh processes; metrics go out with the traces whenever tracing is on.
 */
import { existsSync } from 'node:fs';
import { freePort } from '../../src/dev/local-redis.js';
import { toolPath } from '../../src/dev/go-tools.js';
import { DEFAULT_PORTS, startStack, type StackPorts } from '../../src/dev/observability-stack.js';
import { runB1, type B1Run } from './b1-answer-latency.js';
import { runB2, type B2Run } from './b2-ordered-notifications.js';
import { ready, startRole } from './harness/index.js';

export interface B9Options {
  quick: boolean;
  redisUrl: string;
}

export type TraceMode = 'off' | '10 %' | '100 %';

export interface B9Point {
  mode: TraceMode;
  b1: { ratePerSec: number; p50: number; p99: number; cpuMsPerCall: number; missed: number };
  b2: {
    offeredPerSec: number;
    achievedPerSec: number;
    p99: number;
    cpuMsPerNotification: number;
    lostUpdates: number;
  };
}

export interface B9Result {
  id: 'B9';
  setup: string;
  receiver: string;
  points: B9Point[];
}

function b1Point(run: B1Run): B9Point['b1'] {
  return {
    ratePerSec: run.ratePerSec,
    p50: run.latency.p50,
    p99: run.latency.p99,
    cpuMsPerCall: Object.values(run.cpuPerCallMs).reduce((n, ms) => n + ms, 0),
    missed: run.missedDeadlines,
  };
}

function b2Point(run: B2Run, lostUpdates: number): B9Point['b2'] {
  return {
    offeredPerSec: run.offeredPerSec,
    achievedPerSec: run.achievedPerSec,
    p99: run.latency.p99,
    cpuMsPerNotification: run.cpuMsPerNotification,
    lostUpdates,
  };
}

/** A receiver for OTLP/HTTP: the built collector (+ Jaeger), else the minimal stand-in. */
async function startReceiver(): Promise<{ url: string; name: string; stop(): Promise<void> }> {
  const tools = { jaeger: toolPath('jaeger'), otelcol: toolPath('otelcol') };
  if (existsSync(tools.jaeger) && existsSync(tools.otelcol)) {
    const ports: StackPorts = { ...DEFAULT_PORTS };
    for (const key of Object.keys(ports) as (keyof StackPorts)[]) ports[key] = await freePort();
    const stack = await startStack({ tools, ports, logLevel: 'error' });
    return {
      url: stack.otlpHttpUrl,
      name: 'the OpenTelemetry Collector (tools/bin/otelcol, otel-collector.yaml) exporting to Jaeger',
      stop: () => stack.stop(),
    };
  }
  const port = await freePort();
  const role = startRole('b9-otlp', 'test/bench/b9-otlp-receiver.ts', { BENCH_PORT: String(port) });
  const url = `http://127.0.0.1:${port}`;
  await ready(url).catch(() => undefined); // it answers GET /readyz with 200 too
  return {
    url,
    name:
      'a minimal OTLP/HTTP receiver (test/bench/b9-otlp-receiver.ts: reads and drops, answers 200); ' +
      'the collector was not built (`npm run tools`)',
    stop: () => role.stop(),
  };
}

function envFor(mode: TraceMode, url: string): Record<string, string> {
  if (mode === 'off') return { OTEL_SDK_DISABLED: 'true' };
  return {
    OTEL_SDK_DISABLED: 'false',
    OTEL_EXPORTER_OTLP_ENDPOINT: url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: mode === '10 %' ? '0.1' : '1',
  };
}

export async function runB9(options: B9Options): Promise<B9Result> {
  const b1Rate = 100;
  const b2Rate = options.quick ? 500 : 1000;
  const b2Calls = options.quick ? 300 : 1000;
  const receiver = await startReceiver();
  try {
    const points: B9Point[] = [];
    for (const mode of ['off', '10 %', '100 %'] as const) {
      const env = envFor(mode, receiver.url);
      console.log(`B9: tracing ${mode}`);
      const b1 = await runB1({
        quick: options.quick,
        redisUrl: options.redisUrl,
        env,
        rates: [b1Rate],
      });
      const b2 = await runB2({
        quick: options.quick,
        redisUrl: options.redisUrl,
        env,
        rates: [b2Rate],
        calls: b2Calls,
        noFloor: true,
        label: `tracing ${mode}`,
      });
      points.push({
        mode,
        b1: b1Point(b1.points[0]!.system),
        b2: b2Point(b2.points[0]!.system, b2.correctness.lostUpdates),
      });
    }
    return {
      id: 'B9',
      setup:
        `B1 at ${b1Rate} calls/s (2 ingress + 1 worker) and B2 with ${b2Calls} live calls at ` +
        `${b2Rate} roster notifications/s, each with tracing off (OTEL_SDK_DISABLED=true), 10 % ` +
        `and 100 % sampled (parentbased_traceidratio), OTLP/HTTP protobuf; B1 median of 3 runs, ` +
        `B2 ${options.quick ? '1 run' : 'median of 3 runs'} per mode`,
      receiver: receiver.name,
      points,
    };
  } finally {
    await receiver.stop();
  }
}
