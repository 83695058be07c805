/**
 * How a live leg ends without anyone hanging up (docs/teams-protocol.md#other-operations,
 * #call-states): keep-alive starvation on a manual clock (the test moves the simulator's time,
 * so a timeout costs no real time and lands on the exact millisecond) and media failure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, type SimCall } from '../src/index.js';
import {
  answerBody,
  callIdOf,
  errorOf,
  notificationOf,
  stateOf,
  type Received,
} from './bot-stub.js';
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
const ESTABLISH_DELAY_MS = 20;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ answerDeadlineMs: 10_000, keepAliveTimeoutMs: KEEPALIVE_MS });
  await h.graph.token(TENANT); // warm msal's cache so answers are quick
});
afterAll(async () => {
  await h?.close();
});

const of = (call: SimCall) => (r: Received) => callIdOf(r) === call.id;
const keepAlive = (call: SimCall) => graphAction(h, call, 'keepAlive');

describe('keep-alive expiry', () => {
  const clock = new ManualClock();
  let m: Harness;
  beforeAll(async () => {
    m = await startHarness({
      clock,
      answerDeadlineMs: 10_000,
      establishDelayMs: ESTABLISH_DELAY_MS,
      keepAliveTimeoutMs: KEEPALIVE_MS,
    });
    await m.graph.token(TENANT);
  });
  afterAll(async () => {
    await m?.close();
  });

  const terminated = (call: SimCall) =>
    m.bot.next((r) => callIdOf(r) === call.id && stateOf(r) === 'terminated', 5000);
  /** When the simulator sent the call's final notification, on its clock. */
  const deletedAt = (call: SimCall) =>
    m.sim.deliveries.find((d) => d.callId === call.id && d.state === 'terminated')?.at;
  /** Answer, then move the clock through establishing and established. */
  async function established(): Promise<SimCall> {
    const call = await m.sim.placeCall({ tenantId: TENANT });
    const res = await graphAction(m, call, 'answer', answerBody(callbackFor(m, call.id)));
    expect(res.status).toBeOneOf(GRAPH_SUCCESS);
    await clock.advance(2 * ESTABLISH_DELAY_MS);
    await call.waitFor('established');
    return call;
  }
  /** Move the clock to 1 ms before `at`: the call is still up; then to `at`: it is not. */
  async function expiresAt(call: SimCall, at: number): Promise<Received> {
    await clock.advance(at - 1 - clock.now());
    expect(call.state).toBe('established');
    await clock.advance(1);
    expect(call.state).not.toBe('established');
    const deleted = await terminated(call);
    await call.waitFor('terminated'); // its delivery is logged by then
    return deleted;
  }

  it('ends a call without keepAlives 408/8537 after the timeout, with only a deleted', async () => {
    const call = await established();
    const deleted = await expiresAt(call, call.answer!.at + KEEPALIVE_MS);
    expect(deletedAt(call)).toBe(call.answer!.at + KEEPALIVE_MS);
    expect(deleted.path).toBe(new URL(callbackFor(m, call.id)).pathname);
    expect(notificationOf(deleted)).toMatchObject({
      changeType: 'deleted',
      resourceData: { state: 'terminated', resultInfo: { code: 408, subcode: 8537 } },
    });
    const received = m.bot.received.filter((r) => callIdOf(r) === call.id).map(stateOf);
    expect(received).toEqual(['incoming', 'establishing', 'established', 'terminated']);
    expect(call).toMatchObject({ state: 'terminated', result: { code: 408, subcode: 8537 } });
    const late = await graphAction(m, call, 'keepAlive');
    expect(late.status).toBe(404);
    expect((await errorOf(late)).code).toBe('8522');
    expect(call.keepAlives).toEqual([]);
  });

  it('each successful keepAlive postpones it; it ends a timeout after the last one', async () => {
    const call = await established();
    for (let i = 0; i < 5; i += 1) {
      await clock.advance(KEEPALIVE_MS / 2);
      expect((await graphAction(m, call, 'keepAlive')).status).toBeOneOf(GRAPH_SUCCESS);
    }
    // 5 × 300 ms: well past one timeout since the answer, and the call is still up.
    expect(clock.now() - call.answer!.at).toBeGreaterThan(KEEPALIVE_MS * 2);
    expect(call.state).toBe('established');
    const last = call.keepAlives.at(-1)!;
    expect(call.keepAlives).toHaveLength(5);
    await expiresAt(call, last + KEEPALIVE_MS);
    expect(deletedAt(call)).toBe(last + KEEPALIVE_MS);
    expect(call.result).toMatchObject({ code: 408, subcode: 8537 });
  });

  it('a failed (injected 503) keepAlive does not postpone it', async () => {
    const call = await established();
    m.sim.addFault({ route: 'keepAlive', callId: call.id, times: Infinity });
    try {
      await clock.advance(KEEPALIVE_MS / 2);
      expect((await graphAction(m, call, 'keepAlive')).status).toBe(503);
      await expiresAt(call, call.answer!.at + KEEPALIVE_MS);
      expect(deletedAt(call)).toBe(call.answer!.at + KEEPALIVE_MS);
      expect(call.keepAlives).toEqual([]);
      expect(call.result).toMatchObject({ code: 408, subcode: 8537 });
    } finally {
      m.sim.clearFaults();
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
