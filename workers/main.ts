/**
 * The worker process (`npm run start:workers`): the role runner's sequence with the answer
 * policy prepared and the BullMQ workers of the graph and timers queues served (./compose.ts).
 * Draining: stop fetching, finish the jobs in flight within the drain stage, then force.
 */
import { loadPolicy } from '../src/policy/policy.js';
import { runRole } from '../src/process/run-role.js';
import { startWorkers } from './compose.js';

runRole({
  name: 'workers',
  prepare: (config) => loadPolicy(config.policyFile),
  serve({ config, core, logger }, policy) {
    const workers = startWorkers(core, config, policy, logger);
    logger.info('workers running: graph, timers');
    return Promise.resolve({ drain: (budget) => workers.close(budget.drainMs) });
  },
});
