/**
 * Jaeger v2 and the OpenTelemetry Collector of otel-collector.yaml as two local processes, the
 * collector in front: the orchestrator sends OTLP to the collector, which redacts and forwards
 * traces to Jaeger's OTLP port and serves metrics for Prometheus. Used by `npm run jaeger`
 * (default ports) and the end-to-end trace tests (free ports). Binaries: src/dev/go-tools.ts.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOOLS_DIR, type ToolPaths } from './go-tools.js';

export const COLLECTOR_CONFIG = fileURLToPath(
  new URL('../../otel-collector.yaml', import.meta.url),
);
export const JAEGER_CONFIG = join(TOOLS_DIR, 'jaeger', 'jaeger.yaml');
/** The trace viewer Jaeger serves instead of its UI, which a go-built Jaeger lacks. */
export const JAEGER_UI_ASSETS = join(TOOLS_DIR, 'jaeger', 'ui');

export interface StackPorts {
  /** The collector's OTLP receivers (what the orchestrator sends to). */
  otlpGrpc: number;
  otlpHttp: number;
  /** The collector's Prometheus exporter (`/metrics`). */
  prometheus: number;
  /** Jaeger's OTLP receivers (only the collector sends there). */
  jaegerOtlpGrpc: number;
  jaegerOtlpHttp: number;
  /** Jaeger's UI and HTTP query API, and its gRPC query API. */
  jaegerUi: number;
  jaegerQueryGrpc: number;
}

export const DEFAULT_PORTS: StackPorts = {
  otlpGrpc: 4317,
  otlpHttp: 4318,
  prometheus: 8889,
  jaegerOtlpGrpc: 14317,
  jaegerOtlpHttp: 14318,
  jaegerUi: 16686,
  jaegerQueryGrpc: 16685,
};

export interface StackOptions {
  tools: ToolPaths;
  ports: StackPorts;
  /** Pass the processes' output through instead of collecting it. @default false */
  inherit?: boolean;
  /** Log level of both processes. @default 'info' */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

export interface ObservabilityStack {
  /** Jaeger's UI and query API, e.g. http://127.0.0.1:16686 */
  jaegerUrl: string;
  /** The value of OTEL_EXPORTER_OTLP_ENDPOINT for the orchestrator's processes. */
  otlpHttpUrl: string;
  /** The collector's Prometheus exporter. */
  metricsUrl: string;
  /** What both processes printed (empty with `inherit`). */
  output(): string;
  /** SIGTERM both (SIGKILL after 5 s); resolves once they exited. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';

/** The collector's `--set` overrides: loopback and the given ports instead of the config's. */
export function collectorArgs(ports: StackPorts, logLevel = 'info'): string[] {
  const set = (path: string, value: string) => `--set=${path}=${value}`;
  return [
    `--config=${COLLECTOR_CONFIG}`,
    set('receivers::otlp::protocols::grpc::endpoint', `${HOST}:${ports.otlpGrpc}`),
    set('receivers::otlp::protocols::http::endpoint', `${HOST}:${ports.otlpHttp}`),
    set('exporters::prometheus::endpoint', `${HOST}:${ports.prometheus}`),
    // the collector's own metrics would take port 8888 on every instance
    set('service::telemetry::metrics::level', 'none'),
    set('service::telemetry::logs::level', logLevel),
  ];
}

/** `otelcol validate`: the collector's own verdict on otel-collector.yaml. */
export function validateCollectorConfig(tools: ToolPaths): { ok: boolean; output: string } {
  const run = spawnSync(tools.otelcol, ['validate', `--config=${COLLECTOR_CONFIG}`], {
    encoding: 'utf8',
    env: { ...process.env, JAEGER_OTLP_ENDPOINT: `${HOST}:${DEFAULT_PORTS.jaegerOtlpGrpc}` },
  });
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

async function httpUp(url: string, deadline: number, exited: () => string | undefined) {
  for (;;) {
    const why = exited();
    if (why) throw new Error(why);
    const res = await fetch(url).catch(() => undefined);
    if (res) return;
    if (Date.now() > deadline) throw new Error(`nothing answered at ${url}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startStack(options: StackOptions): Promise<ObservabilityStack> {
  const { tools, ports } = options;
  const logLevel = options.logLevel ?? 'info';
  let output = '';
  const children: [string, ChildProcess][] = [];
  const run = (name: string, file: string, args: string[], env: Record<string, string>) => {
    const child = spawn(file, args, {
      env: { ...process.env, ...env },
      stdio: options.inherit ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
    });
    const collect = (d: Buffer) => (output += `[${name}] ${d.toString()}`);
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    children.push([name, child]);
  };
  const exited = () => {
    const dead = children.find(([, c]) => c.exitCode !== null || c.signalCode !== null);
    return dead && `${dead[0]} exited (${dead[1].exitCode ?? dead[1].signalCode})\n${output}`;
  };
  const stop = async () => {
    await Promise.all(
      children.map(
        ([, c]) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const kill = setTimeout(() => c.kill('SIGKILL'), 5000);
            c.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            c.kill('SIGTERM');
          }),
      ),
    );
  };
  const jaegerUrl = `http://${HOST}:${ports.jaegerUi}`;
  try {
    run('jaeger', tools.jaeger, [`--config=${JAEGER_CONFIG}`], {
      JAEGER_UI_ENDPOINT: `${HOST}:${ports.jaegerUi}`,
      JAEGER_QUERY_GRPC_ENDPOINT: `${HOST}:${ports.jaegerQueryGrpc}`,
      JAEGER_OTLP_GRPC_ENDPOINT: `${HOST}:${ports.jaegerOtlpGrpc}`,
      JAEGER_OTLP_HTTP_ENDPOINT: `${HOST}:${ports.jaegerOtlpHttp}`,
      JAEGER_LOG_LEVEL: logLevel,
      JAEGER_UI_ASSETS,
    });
    const deadline = Date.now() + 30_000;
    await httpUp(`${jaegerUrl}/api/services`, deadline, exited);
    // after Jaeger is up, so the collector's first connection to it succeeds
    run('otelcol', tools.otelcol, collectorArgs(ports, logLevel), {
      JAEGER_OTLP_ENDPOINT: `${HOST}:${ports.jaegerOtlpGrpc}`,
    });
    await httpUp(`http://${HOST}:${ports.otlpHttp}/v1/traces`, deadline, exited);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    jaegerUrl,
    otlpHttpUrl: `http://${HOST}:${ports.otlpHttp}`,
    metricsUrl: `http://${HOST}:${ports.prometheus}/metrics`,
    output: () => output,
    stop,
  };
}
