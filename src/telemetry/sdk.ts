/**
 * OpenTelemetry bootstrap, the first thing every process's composition root runs (ingress,
 * workers, media, simulator, launcher). Off unless the `OTEL_*` variables configure an
 * exporter (config.ts `telemetrySettings`); then the SDK exports traces and metrics over OTLP
 * as those variables say (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_PROTOCOL`, …).
 *
 * No loader hook is needed: nothing is monkey-patched. HTTP server spans come from @hono/otel,
 * the Graph client's requests (sent with undici, src/graph/transport.ts) are traced by
 * instrumentation-undici through diagnostics_channel, and the rest (applyEvent, commits, jobs,
 * media) is traced by our own spans. instrumentation-runtime-node measures the process itself:
 * event-loop delay (a worker late by half its BullMQ job lock lets another worker repeat its
 * job: docs/operations.md), event-loop utilisation, GC and heap. Instruments are
 * created by factories that run after this, so they bind to the real meter provider.
 *
 * `PROMETHEUS_PORT` adds a pull endpoint (`/metrics`) next to, or instead of, the OTLP push.
 */
import {
  context,
  diag,
  DiagConsoleLogger,
  DiagLogLevel,
  metrics,
  propagation,
  trace,
} from '@opentelemetry/api';
import { hostname } from 'node:os';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import {
  NodeSDK,
  resources,
  type metrics as sdkMetrics,
  type tracing,
} from '@opentelemetry/sdk-node';
// The SDK's own OTLP-metrics-from-environment reader: NodeSDK builds it only when given no
// readers, and a Prometheus reader is one. Same package and version, so no second copy of the
// OTEL_EXPORTER_OTLP_* / OTEL_METRIC_EXPORT_* rules here.
import {
  getOtlpMetricExporterFromEnv,
  getPeriodicExportingMetricReaderFromEnv,
} from '@opentelemetry/sdk-node/build/src/utils.js';
import { telemetrySettings, type TelemetrySettings } from '../config.js';
import { requestAttributes } from './spans.js';

export interface Telemetry {
  readonly enabled: boolean;
  readonly serviceName: string;
  /** Export what is buffered now (tests; before a planned exit). */
  forceFlush(): Promise<void>;
  /** Flush and stop; bounded, never throws. Call it last in a shutdown. */
  shutdown(timeoutMs?: number): Promise<void>;
}

export interface TelemetryOptions {
  /** The process's role: ingress, workers, media, simulator, launcher. */
  role: string;
  /** @default telemetrySettings() from the environment */
  settings?: TelemetrySettings;
  /** Where spans go instead of the environment's exporter (tests); turns telemetry on. */
  spanProcessors?: tracing.SpanProcessor[];
  /** Metric readers instead of the environment's (tests). */
  metricReaders?: sdkMetrics.IMetricReader[];
}

const NAMESPACE = 'cr-orchestrator';

export function startTelemetry(options: TelemetryOptions): Telemetry {
  const settings = options.settings ?? telemetrySettings();
  const serviceName = `${settings.serviceName ?? NAMESPACE}-${options.role}`;
  const otlp = settings.enabled || options.spanProcessors !== undefined;
  const enabled = otlp || settings.prometheus !== undefined;
  if (!enabled) {
    return {
      enabled,
      serviceName,
      forceFlush: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
    };
  }
  diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.ERROR);
  const sdk = new NodeSDK({
    serviceName,
    resource: resources.resourceFromAttributes({
      'service.namespace': NAMESPACE,
      // the pod name in Kubernetes, where every process is pid 1
      'service.instance.id': `${hostname()}:${process.pid}`,
    }),
    // Prometheus alone: no spans, rather than the SDK's default OTLP exporter to localhost
    ...(options.spanProcessors || !otlp ? { spanProcessors: options.spanProcessors ?? [] } : {}),
    ...metricReaders(options, settings),
    // logs are pino JSON on stdout, with trace ids (src/logger.ts)
    logRecordProcessors: [],
    instrumentations: [
      new UndiciInstrumentation({
        // the Graph port marks its requests (operation, retry count) on the active context
        startSpanHook: () => requestAttributes(context.active()),
      }),
      // the delay histogram samples every 10 ms and restarts at each collection, so a scrape
      // shows the worst delay since the one before
      new RuntimeNodeInstrumentation({ monitoringPrecision: 10 }),
    ],
  });
  sdk.start();
  let stopped: Promise<void> | undefined;
  return {
    enabled,
    serviceName,
    async forceFlush() {
      const provider = trace.getTracerProvider() as { forceFlush?: () => Promise<void> };
      await provider.forceFlush?.().catch(() => undefined);
    },
    shutdown: (timeoutMs = 5000) =>
      (stopped ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        const limit = new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)));
        await Promise.race([sdk.shutdown().catch(() => undefined), limit]);
        clearTimeout(timer);
        // unregister the globals so a later start (tests) can register again
        trace.disable();
        metrics.disable();
        propagation.disable();
        context.disable();
      })()),
  };
}

/** NodeSDK's `metricReaders` option: absent = the SDK's readers from the environment. */
function metricReaders(
  options: TelemetryOptions,
  settings: TelemetrySettings,
): { metricReaders?: sdkMetrics.IMetricReader[] } {
  if (options.metricReaders) return { metricReaders: options.metricReaders };
  if (!settings.prometheus) return {};
  const { host, port } = settings.prometheus;
  // telemetry is never fatal: a port that cannot be bound is said in one line, not a stack
  const exporter = new PrometheusExporter({ host, port }, (error) => {
    if (error) {
      process.stderr.write(
        `telemetry: cannot serve /metrics on ${host}:${port} (PROMETHEUS_PORT): ${error.message}\n`,
      );
    }
  });
  const readers: sdkMetrics.IMetricReader[] = [exporter];
  if (settings.otlpMetrics)
    readers.push(getPeriodicExportingMetricReaderFromEnv(getOtlpMetricExporterFromEnv()));
  return { metricReaders: readers };
}
