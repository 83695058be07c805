/**
 * B2's floor, as a process of its own (so its CPU is metered apart from the load generator): a
 * bare Hono app on @hono/node-server, like the ingress, that reads each webhook body and
 * answers 202. No token check, no Redis, no queue: the least any webhook receiver costs.
 * Env: BENCH_PORT.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
app.post('/api/calling', async (c) => {
  await c.req.arrayBuffer();
  return c.body(null, 202);
});
app.get('/readyz', (c) => c.body(null, 200));
const server = serve({
  fetch: app.fetch,
  port: Number(process.env.BENCH_PORT),
  hostname: '127.0.0.1',
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
