/** `npm run tools`: build Jaeger and the OpenTelemetry Collector from source (src/dev/go-tools.ts). */
import { buildTools, ToolsError } from './go-tools.js';

try {
  await buildTools();
} catch (error) {
  console.error(error instanceof ToolsError ? error.message : error);
  process.exit(1);
}
