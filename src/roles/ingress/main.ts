/**
 * The ingress process (`npm run start:ingress`): the role runner's sequence with the answer
 * policy prepared and the HTTP server served (./compose.ts). Draining: readiness 503 for
 * SHUTDOWN_DELAY_MS, then stop intake and finish the requests in flight.
 */
import { loadPolicy } from '../../policy/policy.js';
import { runRole } from '../../process/run-role.js';
import { startIngress } from './compose.js';

runRole({
  name: 'ingress',
  prepare: (config) => loadPolicy(config.policyFile),
  async serve({ config, core, logger, telemetryEnabled }, policy) {
    const ingress = await startIngress(config, core, policy, logger, { traced: telemetryEnabled });
    logger.info({ url: ingress.url }, 'ingress listening on POST /api/calling');
    return { drain: (budget) => ingress.close(budget) };
  },
});
