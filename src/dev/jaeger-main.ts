/**
 * `npm run jaeger`: Jaeger v2 (in-memory) and the OpenTelemetry Collector of
 * otel-collector.yaml in front of it, in the foreground until Ctrl-C. Builds both from source
 * first when needed (`npm run tools`). The orchestrator then sends to the collector:
 * OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318.
 */
import { buildTools, ToolsError } from './go-tools.js';
import { DEFAULT_PORTS, startStack } from './observability-stack.js';

try {
  const tools = await buildTools();
  const stack = await startStack({ tools, ports: DEFAULT_PORTS, inherit: true, logLevel: 'warn' });
  const ui = stack.jaegerUrl.replace('127.0.0.1', 'localhost');
  console.log(
    [
      '',
      `Jaeger and the OpenTelemetry Collector are running. Open ${ui} for traces.`,
      `Send the orchestrator's telemetry to the collector (another terminal):`,
      `  OTEL_EXPORTER_OTLP_ENDPOINT=${stack.otlpHttpUrl.replace('127.0.0.1', 'localhost')} npm run demo`,
      `Metrics for Prometheus: ${stack.metricsUrl.replace('127.0.0.1', 'localhost')}`,
      'Ctrl-C stops both (traces are kept in memory only).',
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    console.log('stopping Jaeger and the collector');
    void stack.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (error) {
  console.error(error instanceof ToolsError ? error.message : error);
  process.exit(1);
}
