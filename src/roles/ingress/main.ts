/**
 * Composition root of the ingress role (`npm run start:ingress`): config → Redis → runtime →
 * HTTP. SIGTERM/SIGINT close in order: readiness 503 and stop intake, then queues and Redis,
 * telemetry last; a second signal forces exit.
 */
import { loadConfig } from '../../config.js';
import { createCore } from '../core.js';
import { exitOnStartupError } from '../../process/fatal.js';
import { startIngress } from './compose.js';
import { createLogger } from '../../logger.js';
import { loadPolicy } from '../../policy/policy.js';
import { onShutdown } from '../../process/shutdown.js';
import { startTelemetry } from '../../telemetry/sdk.js';

async function main(): Promise<void> {
  const telemetry = startTelemetry({ role: 'ingress' });
  const config = loadConfig();
  const logger = createLogger('ingress', config.logLevel);
  const policy = await loadPolicy(config.policyFile);
  const core = createCore(config, logger);
  await core.ready();
  const ingress = await startIngress(config, core, policy, logger);
  logger.info({ url: ingress.url }, 'ingress listening on POST /api/calling');
  onShutdown(logger, async () => {
    await ingress.close();
    await core.close();
    await telemetry.shutdown();
  });
}

main().catch(exitOnStartupError('ingress'));
