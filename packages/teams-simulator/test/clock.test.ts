/**
 * The simulator's clock: a `ManualClock` fires timers only when a test moves it, in order, each
 * at its own instant, and a simulator started with one keeps the platform's time on it (the
 * answer deadline, establish delays and webhook retry delays), so none of it is waited out in
 * real time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, realClock } from '../src/index.js';
import { answerBody, callIdOf, errorOf, stateOf } from './bot-stub.js';
import { callbackFor, graphAction, startHarness, type Harness } from './setup.js';

const TENANT = '7e1e0000-0000-4000-8000-0000000000c1';

describe('ManualClock', () => {
  it('fires due timers in order of due time, each at its own instant, and no others', async () => {
    const clock = new ManualClock(1000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 20);
    const late = clock.setTimeout(() => fired.push('late'), 31);
    await clock.advance(30);
    expect(fired).toEqual(['a@1010', 'b@1020', 'c@1020']);
    expect(clock.now()).toBe(1030);
    expect(clock.pending).toBe(1);
    clock.clearTimeout(late);
    await clock.advance(100);
    expect(fired).toHaveLength(3);
    expect(clock.pending).toBe(0);
  });

  it('fires timers set while advancing when they fall due within the same advance', async () => {
    const clock = new ManualClock(0);
    const at: number[] = [];
    const again = () => {
      at.push(clock.now());
      if (at.length < 5) clock.setTimeout(again, 20);
    };
    clock.setTimeout(again, 20);
    await clock.advance(70);
    expect(at).toEqual([20, 40, 60]);
    await clock.advance(1000);
    expect(at).toEqual([20, 40, 60, 80, 100]);
  });

  it('lets the work a timer started settle before the next fires', async () => {
    const clock = new ManualClock(0);
    const order: string[] = [];
    clock.setTimeout(() => {
      void Promise.resolve()
        .then(() => Promise.resolve())
        .then(() => order.push('first, settled'));
    }, 5);
    clock.setTimeout(() => order.push('second'), 6);
    await clock.advance(10);
    expect(order).toEqual(['first, settled', 'second']);
  });

  it('sleep resolves when the clock passes it and rejects with an AbortError on abort', async () => {
    const clock = new ManualClock(0);
    let woke = false;
    const sleeping = clock.sleep(50).then(() => (woke = true));
    await clock.advance(49);
    expect(woke).toBe(false);
    await clock.advance(1);
    await sleeping;
    expect(woke).toBe(true);

    const abort = new AbortController();
    const aborted = clock.sleep(50, abort.signal);
    abort.abort();
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    expect(clock.pending).toBe(0);
    await expect(clock.sleep(1, abort.signal)).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('refuses a time that goes backwards or is not a number', async () => {
    const clock = new ManualClock(0);
    await expect(clock.advance(-1)).rejects.toThrow(/ms must be >= 0/);
    await expect(clock.advance(Number.NaN)).rejects.toThrow(/ms must be >= 0/);
    expect(() => new ManualClock(Number.POSITIVE_INFINITY)).toThrow(/finite/);
    expect(clock.now()).toBe(0);
  });

  it('the real clock is wall time', async () => {
    const before = Date.now();
    expect(realClock.now()).toBeGreaterThanOrEqual(before);
    await realClock.sleep(5);
    expect(realClock.now()).toBeGreaterThanOrEqual(before + 4);
  });
});

describe('a simulator on a manual clock', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('misses the documented 5 s answer deadline exactly when the clock reaches it', async () => {
    const clock = new ManualClock();
    h = await startHarness({ clock, answerDeadlineMs: 5000 });
    const startedReal = performance.now();
    const call = await h.sim.placeCall({ tenantId: TENANT });
    await clock.advance(4999);
    expect(call.state).toBe('invited');
    await clock.advance(1);
    expect(call.state).toBe('terminated');
    await call.waitFor('terminated');
    expect(call.result).toMatchObject({ code: 408, subcode: 8544 });
    const deleted = h.sim.deliveries.find((d) => d.callId === call.id && d.kind === 'deleted');
    expect(deleted?.at).toBe(call.invitedAt + 5000);
    const late = await graphAction(h, call, 'answer', answerBody(callbackFor(h, call.id)));
    expect(late.status).toBe(404);
    expect((await errorOf(late)).code).toBe('8522');
    // five seconds of the platform's time, but not of ours
    expect(performance.now() - startedReal).toBeLessThan(4000);
  });

  it('waits the retry backoff of a failed delivery on its clock', async () => {
    const clock = new ManualClock();
    h = await startHarness({ clock, deliveryRetry: { attempts: 3, backoffMs: [1000, 2000] } });
    const bot = h.bot;
    bot.respond = () => 503;
    const raw = () => h!.sim.deliveries.filter((d) => d.kind === 'raw');
    const sent = clock.now();
    const result = h.sim.deliver({ value: [] }, { tenantId: TENANT });
    await bot.next(() => bot.received.length >= 1);
    await clock.advance(999);
    expect(bot.received).toHaveLength(1);
    await clock.advance(1);
    await bot.next(() => bot.received.length >= 2);
    await clock.advance(1999);
    expect(bot.received).toHaveLength(2);
    await clock.advance(1);
    expect((await result).status).toBe(503);
    expect(raw().map((d) => d.at - sent)).toEqual([0, 1000, 3000]);
    expect(raw().map((d) => d.attempt)).toEqual([1, 2, 3]);
  });

  it('delivers establishing and established only as the clock passes the establish delays', async () => {
    const clock = new ManualClock();
    h = await startHarness({ clock, establishDelayMs: 30, answerDeadlineMs: 10_000 });
    const harness = h;
    await harness.graph.token(TENANT);
    const call = await harness.sim.placeCall({ tenantId: TENANT });
    const res = await graphAction(harness, call, 'answer', answerBody(callbackFor(h, call.id)));
    expect(res.status).toBeLessThan(300);
    await clock.advance(29);
    expect(call.state).toBe('answered');
    await clock.advance(1);
    expect(call.state).toBe('establishing');
    await clock.advance(30);
    await call.waitFor('established');
    const states = harness.bot.received.filter((r) => callIdOf(r) === call.id).map(stateOf);
    expect(states).toEqual(['incoming', 'establishing', 'established']);
    const at = (state: string) =>
      harness.sim.deliveries.find((d) => d.callId === call.id && d.state === state)?.at;
    expect(at('establishing')! - call.answer!.at).toBe(30);
    expect(at('established')! - call.answer!.at).toBe(60);
  });

  it('acts on a call action only after graphLatencyMs of its clock, then replies', async () => {
    const clock = new ManualClock();
    h = await startHarness({ clock, graphLatencyMs: 400, answerDeadlineMs: 10_000 });
    const harness = h;
    await harness.graph.token(TENANT); // the token endpoint is not slowed
    const call = await harness.sim.placeCall({ tenantId: TENANT });
    let replied = false;
    const reply = graphAction(harness, call, 'answer', answerBody(callbackFor(h, call.id))).then(
      (res) => ((replied = true), res),
    );
    await eventuallyLogged(harness, call.id);
    await clock.advance(399);
    expect(replied).toBe(false);
    expect(call.state).toBe('invited');
    await clock.advance(1);
    expect((await reply).status).toBeLessThan(300);
    expect(call.state).toBe('answered');
    expect(call.answer!.at - call.invitedAt).toBe(400);
  });
});

/** Waits (in real time) until the simulator holds the call's answer request. */
async function eventuallyLogged(h: Harness, callId: string): Promise<void> {
  for (let i = 0; i < 500; i += 1) {
    if ((h.sim.calls.get(callId)?.answerAttempts ?? 0) > 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('the answer request never reached the simulator');
}
