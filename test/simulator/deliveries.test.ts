import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimCall } from '../../src/simulator/index.js';
import {
  answerBody,
  callIdOf,
  stateOf,
  type CommsNotifications,
  type Received,
} from './bot-stub.js';
import { APP_ID, startHarness, type Harness } from './setup.js';

const TENANT = '7e1e0000-0000-4000-8000-0000000000ef';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ deliveryTimeoutMs: 1000 });
  await h.graph.token(TENANT); // warm msal's cache so answers are quick
});
afterAll(async () => {
  await h?.close();
});

const of = (call: SimCall) => (r: Received) => callIdOf(r) === call.id;
const invite = (call: SimCall) => h.bot.next((r) => of(call)(r) && stateOf(r) === 'incoming');
const answer = (call: SimCall) =>
  h.graph.post(`/communications/calls/${call.id}/answer`, answerBody(), call.tenantId);
const seen = (call: SimCall) => h.bot.received.filter(of(call));

describe('delivery behaviour', () => {
  it('duplicateNotifications delivers everything twice with fresh message ids', async () => {
    const call = await h.sim.placeCall({ tenantId: TENANT, duplicateNotifications: true });
    await answer(call);
    await call.waitFor('established');
    const got = seen(call);
    expect(got.map(stateOf)).toEqual([
      'incoming',
      'incoming',
      'establishing',
      'establishing',
      'established',
      'established',
    ]);
    const ids = got.map((r) => r.headers['x-microsoft-skype-message-id']);
    expect(new Set(ids).size).toBe(6);
    expect(got[1]!.headers['x-microsoft-skype-original-message-id']).toBe(ids[0]);
    expect((await answer(call)).status).toBe(404); // the duplicate invite cannot be answered twice
  });

  it("a call's tokenMode signs every delivery that way; the bot's 401 is logged", async () => {
    const call = await h.sim.placeCall({ tenantId: TENANT, tokenMode: 'expired' });
    const r = await invite(call);
    expect(r.verified.ok).toBe(false);
    expect(h.sim.deliveries.find((d) => d.callId === call.id)).toMatchObject({
      status: 401,
      error: 'HTTP 401',
    });
  });

  it('deliver() sends a tampered invite raw, with the chosen token mode', async () => {
    const callId = crypto.randomUUID();
    const body = h.sim.inviteBody({ callId, tenantId: TENANT }) as CommsNotifications;
    const data = body.value[0]!.resourceData;
    data.tenantId = 'tampered';
    const bad = await h.sim.deliver(body, { tenantId: TENANT, tokenMode: 'badSignature' });
    expect(bad.status).toBe(401);
    const ok = await h.sim.deliver(body, { tenantId: TENANT, headers: { 'x-test': '1' } });
    expect(ok.status).toBe(202);
    // Earlier calls' initial rosters may still be arriving: pick this delivery out by its header.
    const r = h.bot.received.findLast((x) => x.headers['x-test'] === '1')!;
    expect(r.headers['x-test']).toBe('1');
    expect(data.callChainId).toMatch(GUID);
    expect(r.headers['x-microsoft-skype-chain-id']).toBe(data.callChainId);
    const raw = h.sim.deliveries.filter((d) => d.kind === 'raw' && d.callId === callId);
    expect(raw.map((d) => d.status)).toEqual([401, 202]);
    expect(raw.at(-1)).toMatchObject({ kind: 'raw', callId, status: 202 });
    expect(h.sim.calls.has(callId)).toBe(false);
  });

  it('a webhook slower than deliveryTimeoutMs counts as a failed delivery', async () => {
    h.bot.respond = async () => {
      await sleep(1500);
      return 202;
    };
    try {
      const res = await h.sim.deliver({ value: [] }, { tenantId: TENANT });
      expect(res.status).toBe(0);
      const raw = h.sim.deliveries.filter((d) => d.kind === 'raw');
      expect(raw.at(-1)?.error).toMatch(/no response within 1000 ms/);
    } finally {
      h.bot.respond = undefined;
    }
  });

  it('issues webhook tokens for the bot app id', async () => {
    const call = await h.sim.placeCall({ tenantId: TENANT });
    const r = await invite(call);
    expect(r.verified.ok && r.verified.payload.aud).toBe(APP_ID);
  });
});
