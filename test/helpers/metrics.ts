/**
 * OpenTelemetry instruments as a test reads them: a meter provider of the test's own (so the
 * global one stays free for a test file's SDK, and counts of parallel components never mix),
 * collected on demand, a counter read by name and attributes.
 */
import type { Attributes, MeterProvider } from '@opentelemetry/api';
import { metrics } from '@opentelemetry/sdk-node';

/** Collects only when asked (no interval, no exporter). */
class OnDemandReader extends metrics.MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

export interface TestMetrics {
  /** Give this to the component under test. */
  readonly meterProvider: MeterProvider;
  /** The sum of a counter's points whose attributes include `attributes`; 0 before any. */
  value(name: string, attributes?: Attributes): Promise<number>;
  /** A counter's values by one attribute, e.g. frames dropped by reason. */
  by(name: string, attribute: string): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export function testMetrics(): TestMetrics {
  const reader = new OnDemandReader();
  const provider = new metrics.MeterProvider({ readers: [reader] });

  /** The cumulative points of `name`: [attributes, value]. */
  const points = async (name: string): Promise<[Attributes, number][]> => {
    const { resourceMetrics, errors } = await reader.collect();
    if (errors.length > 0) throw new AggregateError(errors, 'metric collection failed');
    const found = resourceMetrics.scopeMetrics
      .flatMap((s) => s.metrics)
      .filter((m) => m.descriptor.name === name);
    return found.flatMap((m) =>
      m.dataPoints.map((p): [Attributes, number] => {
        if (typeof p.value !== 'number') throw new Error(`${name} is not a counter`);
        return [p.attributes, p.value];
      }),
    );
  };

  return {
    meterProvider: provider,
    value: async (name, attributes = {}) =>
      (await points(name))
        .filter(([a]) => Object.entries(attributes).every(([k, v]) => a[k] === v))
        .reduce((sum, [, value]) => sum + value, 0),
    by: async (name, attribute) => {
      const values: Record<string, number> = {};
      for (const [a, value] of await points(name)) {
        const key = String(a[attribute]);
        values[key] = (values[key] ?? 0) + value;
      }
      return values;
    },
    close: () => provider.shutdown(),
  };
}
