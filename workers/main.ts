/**
 * Composition root of the worker role (`npm run start:workers`): config → Redis → Graph port
 * (msal tokens per tenant) → BullMQ workers for the graph and timers queues. SIGTERM drains
 * in-flight jobs (bounded), then closes queues and Redis.
 */
import { loadConfig } from '../src/config.js';
import { createCore } from '../src/roles/core.js';
import { exitOnStartupError } from '../src/process/fatal.js';
import { createLogger } from '../src/logger.js';
import { loadPolicy } from '../src/policy/policy.js';
import { onShutdown } from '../src/process/shutdown.js';
import { startTelemetry } from '../src/telemetry/sdk.js';
import { startWorkers } from './compose.js';

async function main(): Promise<void> {
  const telemetry = startTelemetry({ role: 'workers' });
  const config = loadConfig();
  const logger = createLogger('workers', config.logLevel);
  const policy = await loadPolicy(config.policyFile);
  const core = createCore(config, logger);
  await core.ready();
  const workers = startWorkers(core, config, policy, logger);
  logger.info('workers running: graph, timers');
  onShutdown(logger, async () => {
    await workers.close();
    await core.close();
    await telemetry.shutdown();
  });
}

main().catch(exitOnStartupError('workers'));
