/**
 * The end-to-end tests' side of Jaeger and the collector: a stack on free ports, and typed reads
 * of Jaeger's HTTP query API (`/api/traces`, the API its UI uses).
 */
import { freePort } from '../../src/dev/local-redis.js';
import { toolPath } from '../../src/dev/go-tools.js';
import {
  startStack,
  type ObservabilityStack,
  type StackPorts,
} from '../../src/dev/observability-stack.js';
import { eventually } from '../helpers/system.js';

export interface JaegerTag {
  key: string;
  type: string;
  value: string | number | boolean;
}
export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: 'CHILD_OF' | 'FOLLOWS_FROM'; traceID: string; spanID: string }[];
  tags: JaegerTag[];
  processID: string;
}
export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags: JaegerTag[] }>;
}

async function freeStackPorts(): Promise<StackPorts> {
  const taken = new Set<number>();
  const next = async () => {
    for (;;) {
      const port = await freePort();
      if (!taken.has(port)) return taken.add(port) && port;
    }
  };
  return {
    otlpGrpc: await next(),
    otlpHttp: await next(),
    prometheus: await next(),
    jaegerOtlpGrpc: await next(),
    jaegerOtlpHttp: await next(),
    jaegerUi: await next(),
    jaegerQueryGrpc: await next(),
  };
}

/** Jaeger and the collector (built by the global setup) on free loopback ports. */
export async function startTestStack(): Promise<ObservabilityStack> {
  const tools = { jaeger: toolPath('jaeger'), otelcol: toolPath('otelcol') };
  return startStack({ tools, ports: await freeStackPorts(), logLevel: 'warn' });
}

export const tagOf = (span: JaegerSpan, key: string) => span.tags.find((t) => t.key === key)?.value;
export const serviceOf = (trace: JaegerTrace, span: JaegerSpan) =>
  trace.processes[span.processID]?.serviceName;

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { data: T }).data;
}

export const getTrace = async (jaegerUrl: string, traceId: string): Promise<JaegerTrace> => {
  const [trace] = await getJson<JaegerTrace[]>(`${jaegerUrl}/api/traces/${traceId}`);
  if (!trace) throw new Error(`trace ${traceId} not found`);
  return trace;
};

/** Traces of `service` with every tag in `tags` (Jaeger's tag search). */
export const findTraces = (jaegerUrl: string, service: string, tags: Record<string, string>) =>
  getJson<JaegerTrace[]>(
    `${jaegerUrl}/api/traces?service=${encodeURIComponent(service)}&limit=100&lookback=1h` +
      `&tags=${encodeURIComponent(JSON.stringify(tags))}`,
  );

/** Polls until `check` of the found traces is true (Jaeger stores what arrives within ~1 s). */
export const waitForTraces = (
  jaegerUrl: string,
  service: string,
  tags: Record<string, string>,
  check: (traces: JaegerTrace[]) => boolean,
  timeoutMs = 15_000,
) =>
  eventually(
    async () => {
      const traces = await findTraces(jaegerUrl, service, tags);
      return check(traces) ? traces : undefined;
    },
    timeoutMs,
    `traces of ${service} with ${JSON.stringify(tags)} in Jaeger`,
  );
