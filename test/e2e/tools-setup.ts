/**
 * Builds Jaeger and the OpenTelemetry Collector before the end-to-end tests (seconds when they
 * are up to date). Throws, failing the run, when Go is missing or too old: these tests are
 * never skipped.
 */
import { buildTools } from '../../src/dev/go-tools.js';

export async function setup(): Promise<void> {
  await buildTools((line) => console.log(`[tools] ${line}`));
}
