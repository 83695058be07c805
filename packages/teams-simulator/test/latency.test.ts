/**
 * `graphLatencyMs` holds every Graph request for that long; a load test keeps many of them
 * waiting at once, each on the simulator's one closing signal. That must stay quiet: no
 * "possible EventTarget memory leak" warning in the user's terminal for a normal load.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerBody } from './bot-stub.js';
import { startHarness, type Harness, GRAPH_SUCCESS } from './setup.js';

const TENANT = '7e1e0000-0000-4000-8000-0000000000ee';
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ graphLatencyMs: 150 });
  await h.graph.token(TENANT);
});
afterAll(async () => {
  await h?.close();
});

describe('Graph latency under load', () => {
  it('holds 40 answers at once without a listener warning, and answers each after the latency', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    try {
      const calls = await Promise.all(
        Array.from({ length: 40 }, () => h.sim.placeCall({ tenantId: TENANT })),
      );
      const started = Date.now();
      const replies = await Promise.all(
        calls.map((call) =>
          h.graph.post(`/communications/calls/${call.id}/answer`, answerBody(), TENANT),
        ),
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(145);
      for (const reply of replies) expect(GRAPH_SUCCESS).toContain(reply.status);
      // a warning is emitted on the next tick
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w.includes('MaxListenersExceeded'))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
