/**
 * Composition root of the media process (`npm run start:media`): config → Redis → the media
 * endpoint. SIGTERM drains: stop accepting, flush and close every recording (peers resume on
 * another media process), then Redis.
 */
import { checkConfigFiles, loadConfig } from '../config.js';
import { createCore } from '../core.js';
import { exitOnStartupError } from '../fatal.js';
import { createLogger } from '../logger.js';
import { onShutdown } from '../shutdown.js';
import { startTelemetry } from '../telemetry/sdk.js';
import { startMediaRole } from './role.js';

async function main(): Promise<void> {
  const telemetry = startTelemetry({ role: 'media' });
  const config = loadConfig();
  checkConfigFiles(config);
  const logger = createLogger('media', config.logLevel);
  const core = createCore(config, logger);
  await core.ready();
  const media = await startMediaRole(config, core, logger);
  onShutdown(logger, async () => {
    await media.close();
    await core.close();
    await telemetry.shutdown();
  });
}

main().catch(exitOnStartupError('media'));
