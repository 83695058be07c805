/**
 * How a live leg ends without anyone hanging up (docs/teams-protocol.md#other-operations,
 * #call-states): keep-alive starvation on a compressed clock (45 min → 600 ms) and media failure.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimCall } from '../src/index.js';
import { callIdOf, errorOf, notificationOf, stateOf, type Received } from './bot-stub.js';
import {
  callbackFor,
  establish,
  graphAction,
  startHarness,
  type Harness,
  GRAPH_SUCCESS,
} from './setup.js';

const TENANT = '7e1e0000-0000-4000-8000-0000000000b1';
const KEEPALIVE_MS = 600;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ answerDeadlineMs: 10_000, keepAliveTimeoutMs: KEEPALIVE_MS });
  await h.graph.token(TENANT); // warm msal's cache so answers are quick
});
afterAll(async () => {
  await h?.close();
});

const of = (call: SimCall) => (r: Received) => callIdOf(r) === call.id;
const states = (call: SimCall) => h.bot.received.filter(of(call)).map(stateOf);
const keepAlive = (call: SimCall) => graphAction(h, call, 'keepAlive');
const terminated = (call: SimCall) =>
  h.bot.next((r) => of(call)(r) && stateOf(r) === 'terminated', 5000);

describe('keep-alive expiry', () => {
  it('ends a call without keepAlives 408/8537 after the timeout, with only a deleted', async () => {
    const call = await h.sim.placeCall({ tenantId: TENANT });
    await establish(h, call);
    const deleted = await terminated(call);
    expect(deleted.at - call.answer!.at).toBeGreaterThanOrEqual(KEEPALIVE_MS - 5);
    expect(deleted.path).toBe(new URL(callbackFor(h, call.id)).pathname);
    expect(notificationOf(deleted)).toMatchObject({
      changeType: 'deleted',
      resourceData: { state: 'terminated', resultInfo: { code: 408, subcode: 8537 } },
    });
    expect(states(call)).toEqual(['incoming', 'establishing', 'established', 'terminated']);
    expect(call).toMatchObject({ state: 'terminated', result: { code: 408, subcode: 8537 } });
    const late = await keepAlive(call);
    expect(late.status).toBe(404);
    expect((await errorOf(late)).code).toBe('8522');
    expect(call.keepAlives).toEqual([]);
  });

  it('each successful keepAlive postpones it; it ends a timeout after the last one', async () => {
    const call = await h.sim.placeCall({ tenantId: TENANT });
    await establish(h, call);
    for (let i = 0; i < 5; i += 1) {
      await sleep(KEEPALIVE_MS / 2);
      expect((await keepAlive(call)).status).toBeOneOf(GRAPH_SUCCESS);
    }
    // 5 × 300 ms: well past one timeout since the answer, and the call is still up.
    expect(Date.now() - call.answer!.at).toBeGreaterThan(KEEPALIVE_MS * 2);
    expect(call.state).toBe('established');
    const last = call.keepAlives.at(-1)!;
    expect(call.keepAlives).toHaveLength(5);
    const deleted = await terminated(call);
    expect(deleted.at - last).toBeGreaterThanOrEqual(KEEPALIVE_MS - 5);
    expect(call.result).toMatchObject({ code: 408, subcode: 8537 });
  });

  it('a failed (injected 503) keepAlive does not postpone it', async () => {
    const call = await h.sim.placeCall({ tenantId: TENANT });
    await establish(h, call);
    h.sim.addFault({ route: 'keepAlive', callId: call.id, times: Infinity });
    try {
      await sleep(KEEPALIVE_MS / 2);
      expect((await keepAlive(call)).status).toBe(503);
      const deleted = await terminated(call);
      expect(deleted.at - call.answer!.at).toBeLessThan(KEEPALIVE_MS + 250);
      expect(call.result).toMatchObject({ code: 408, subcode: 8537 });
    } finally {
      h.sim.clearFaults();
    }
  });
});

describe('media failure', () => {
  it('failMedia ends the leg 410/301005: terminating, then deleted at the callbackUri', async () => {
    const call = await h.sim.placeCall({ tenantId: TENANT });
    await establish(h, call);
    await call.failMedia();
    expect(call).toMatchObject({ state: 'terminated', result: { code: 410, subcode: 301005 } });
    const cb = h.bot.received.filter(
      (r) => of(call)(r) && r.path === new URL(callbackFor(h, call.id)).pathname,
    );
    expect(cb.map((r) => `${notificationOf(r)!.changeType} ${stateOf(r)}`)).toEqual([
      'updated establishing',
      'updated established',
      'updated terminating',
      'deleted terminated',
    ]);
    expect(notificationOf(cb[3]!)?.resourceData.resultInfo).toMatchObject({
      code: 410,
      subcode: 301005,
    });
    expect((await keepAlive(call)).status).toBe(404);
    await expect(call.failMedia()).rejects.toThrow(/no media to fail/);
  });

  it('there is no media to fail before the answer', async () => {
    const call = await h.sim.placeCall({ tenantId: TENANT });
    await expect(call.failMedia()).rejects.toThrow(/no media to fail \(state invited/);
    expect(call.state).toBe('invited');
    expect((await graphAction(h, call, 'reject', {})).status).toBeOneOf(GRAPH_SUCCESS);
  });
});
