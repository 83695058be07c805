/**
 * Composition root of the media process (`npm run start:media`): config → Redis → the media
 * endpoint. SIGTERM drains: stop accepting, flush and close every recording (peers resume on
 * another media process), then Redis.
 */
import { loadConfig } from '../../config.js';
import { createCore } from '../core.js';
import { exitOnStartupError } from '../../process/fatal.js';
import { createLogger } from '../../logger.js';
import { onShutdown } from '../../process/shutdown.js';
import { startTelemetry } from '../../telemetry/sdk.js';
import { startMediaRole } from './compose.js';

async function main(): Promise<void> {
  const telemetry = startTelemetry({ role: 'media' });
  const config = loadConfig();
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
