/**
 * B1's floor as a process of its own (so its CPU is metered like the system's roles): the
 * simulator's addresses come in FLOOR_* variables, SIGTERM closes it, and the requests it could
 * not serve are printed when it stops.
 */
import { startFloor } from './b1-floor.js';

const need = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`b1-floor-main: ${name} is not set`);
  return value;
};

const floor = await startFloor(
  {
    openIdConfigUrl: need('FLOOR_OPENID_CONFIG_URL'),
    issuer: need('FLOOR_ISSUER'),
    graphBaseUrl: need('FLOOR_GRAPH_BASE_URL'),
    authorityHost: need('FLOOR_AUTHORITY_HOST'),
  },
  Number(need('FLOOR_PORT')),
);
process.once('SIGTERM', () => {
  if (floor.errors.length > 0)
    console.warn(`B1: the floor failed ${floor.errors.length} requests: ${floor.errors[0]}`);
  void floor.close().then(() => process.exit(0));
});
