/**
 * The media process (`npm run start:media`): the role runner's sequence serving the media
 * endpoint (./compose.ts). Draining: stop accepting, flush and close every recording (peers
 * resume on another media process).
 */
import { runRole } from '../../process/run-role.js';
import { startMediaRole } from './compose.js';

runRole({
  name: 'media',
  prepare: () => Promise.resolve(undefined),
  async serve({ config, core, logger }) {
    const media = await startMediaRole(config, core, logger);
    return { drain: () => media.close() };
  },
});
