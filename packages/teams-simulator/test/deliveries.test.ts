import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../../../src/dev/local-redis.js';
import { ManualClock, type DeliveryLogEntry, type SimCall } from '../src/index.js';
import {
  answerBody,
  callIdOf,
  startBotStub,
  stateOf,
  type BotStub,
  type CommsNotifications,
  type Received,
} from './bot-stub.js';
import { APP_ID, callbackFor, GRAPH_SUCCESS, startHarness, type Harness } from './setup.js';

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

/** Real-time polling for a condition only I/O can bring about. */
async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`not within ${timeoutMs} ms`);
    await sleep(5);
  }
}

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
    // a copy shares its first's place in the send order; the next notification comes later
    const sent = h.sim.deliveries
      .filter((d) => d.callId === call.id)
      .map((d) => [d.state, d.duplicate, d.sent] as const);
    expect(sent.map(([state, dup]) => [state, dup])).toEqual([
      ['incoming', false],
      ['incoming', true],
      ['establishing', false],
      ['establishing', true],
      ['established', false],
      ['established', true],
    ]);
    expect(sent[1]![2]).toBe(sent[0]![2]);
    expect(sent[2]![2]).toBeGreaterThan(sent[0]![2]);
    expect(sent[4]![2]).toBeGreaterThan(sent[2]![2]);
    expect(sent[5]![2]).toBe(sent[4]![2]);
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
    // on a manual clock: the timeout passes when the test moves time, not in real time
    const clock = new ManualClock();
    const m = await startHarness({ clock, deliveryTimeoutMs: 1000 });
    let release!: () => void;
    m.bot.respond = () => new Promise<number>((resolve) => (release = () => resolve(202)));
    try {
      const res = m.sim.deliver({ value: [] }, { tenantId: TENANT });
      await until(() => clock.pending > 0 && release !== undefined); // the bot holds the POST
      await clock.advance(999);
      expect(m.sim.deliveries).toEqual([]);
      await clock.advance(1);
      expect((await res).status).toBe(0);
      const raw = m.sim.deliveries.filter((d) => d.kind === 'raw');
      expect(raw.at(-1)?.error).toMatch(/no response within 1000 ms/);
    } finally {
      release?.();
      await m.close();
    }
  });

  it('by default a 503 is not retried (one attempt per notification)', async () => {
    const callId = crypto.randomUUID();
    h.bot.respond = () => 503;
    try {
      const res = await h.sim.deliver(h.sim.inviteBody({ callId, tenantId: TENANT }), {
        tenantId: TENANT,
      });
      expect(res.status).toBe(503);
    } finally {
      h.bot.respond = undefined;
    }
    const logged = h.sim.deliveries.filter((d) => d.callId === callId);
    expect(logged).toMatchObject([{ attempt: 1, status: 503, error: 'HTTP 503' }]);
  });

  it('issues webhook tokens for the bot app id', async () => {
    const call = await h.sim.placeCall({ tenantId: TENANT });
    const r = await invite(call);
    expect(r.verified.ok && r.verified.payload.aud).toBe(APP_ID);
  });
});

describe('several replicas and retries (webhookUrls, deliveryRetry)', () => {
  let r: Harness;
  let stubs: BotStub[];
  let urls: string[];
  beforeAll(async () => {
    r = await startHarness({
      deliveryTimeoutMs: 1000,
      deliveryRetry: { attempts: 3, backoffMs: [150] },
    });
    stubs = [
      r.bot,
      ...(await Promise.all([1, 2].map(() => startBotStub(r.sim.openIdConfigUrl, APP_ID)))),
    ];
    urls = stubs.map((b) => `${b.url}/api/calling`);
    await r.graph.token(TENANT);
  });
  afterAll(async () => {
    await r?.close();
    await Promise.all(stubs?.slice(1).map((b) => b.close()) ?? []);
  });
  beforeEach(() => {
    r.sim.webhookUrls = urls;
  });
  afterEach(() => {
    for (const b of stubs) b.respond = undefined;
  });

  /** Every stub answers from one script, in the order requests arrive anywhere. */
  const script = (statuses: number[], match: (x: Received) => boolean) => {
    const left = [...statuses];
    for (const b of stubs) b.respond = (x) => (match(x) ? (left.shift() ?? 202) : 202);
  };
  const rawInvite = (callId: string) =>
    r.sim.deliver(r.sim.inviteBody({ callId, tenantId: TENANT }), { tenantId: TENANT });
  const logOf = (callId: string) => r.sim.deliveries.filter((d) => d.callId === callId);
  /** The replica after `url` in the pool. */
  const after = (url: string) => urls[(urls.indexOf(url) + 1) % urls.length];

  it('spreads deliveries to the global webhook round-robin over the replicas', async () => {
    const ids: string[] = Array.from({ length: 6 }, () => crypto.randomUUID());
    for (const id of ids) expect((await rawInvite(id)).status).toBe(202);
    const order = ids.map((id) => logOf(id)[0]!.url);
    const start = urls.indexOf(order[0]!);
    expect(start).toBeGreaterThanOrEqual(0);
    expect(order).toEqual(ids.map((_, i) => urls[(start + i) % urls.length]));
    for (const b of stubs) {
      expect(b.received.filter((x) => ids.includes(callIdOf(x) ?? '')).length).toBe(2);
    }
  });

  it("a call's notifications are balanced too, unless an answer pins them elsewhere", async () => {
    const spread = await r.sim.placeCall({ tenantId: TENANT, initialRoster: false });
    await r.graph.post(`/communications/calls/${spread.id}/answer`, answerBody(), TENANT);
    await spread.waitFor('established');
    expect(new Set(logOf(spread.id).map((d) => d.url)).size).toBe(3);

    const pinned = await r.sim.placeCall({ tenantId: TENANT, initialRoster: false });
    const callbackUri = callbackFor(r, pinned.id);
    const res = await r.graph.post(
      `/communications/calls/${pinned.id}/answer`,
      answerBody(callbackUri),
      TENANT,
    );
    expect(res.status).toBeOneOf(GRAPH_SUCCESS);
    await pinned.waitFor('established');
    const later = logOf(pinned.id).filter((d) => d.kind !== 'incoming');
    expect(later.map((d) => d.url)).toEqual([callbackUri, callbackUri]);
  });

  it('retries a 503 and a 429 to the next replica each time, logging every attempt', async () => {
    const callId = crypto.randomUUID();
    script([503, 429], (x) => callIdOf(x) === callId);
    const res = await rawInvite(callId);
    expect(res.status).toBe(202);
    const log = logOf(callId);
    expect(log).toMatchObject([
      { attempt: 1, status: 503, error: 'HTTP 503' },
      { attempt: 2, status: 429, error: 'HTTP 429' },
      { attempt: 3, status: 202 },
    ]);
    expect(log[1]!.url).toBe(after(log[0]!.url));
    expect(log[2]!.url).toBe(after(log[1]!.url));
    expect(log[1]!.at - log[0]!.at).toBeGreaterThanOrEqual(140); // the backoff
    expect(new Set(log.map((d) => d.sent)).size).toBe(1); // one notification, three POSTs
    // each POST has a fresh message id; the retries name the first as the original
    const got = stubs.flatMap((b) => b.received).filter((x) => callIdOf(x) === callId);
    expect(got).toHaveLength(3);
    const first = log[0]!.messageId;
    expect(new Set(log.map((d) => d.messageId)).size).toBe(3);
    for (const x of got) expect(x.headers['x-microsoft-skype-original-message-id']).toBe(first);
  });

  it('gives up after `attempts` and reports the last status', async () => {
    const callId = crypto.randomUUID();
    script([500, 502, 504, 503], (x) => callIdOf(x) === callId);
    expect((await rawInvite(callId)).status).toBe(504);
    expect(logOf(callId).map((d) => [d.attempt, d.status])).toEqual([
      [1, 500],
      [2, 502],
      [3, 504],
    ]);
  });

  it('a refused connection is retried at another replica', async () => {
    const closed = `http://127.0.0.1:${await freePort()}/api/calling`;
    r.sim.webhookUrls = [closed, urls[1]!];
    const ids = [crypto.randomUUID(), crypto.randomUUID()];
    for (const id of ids) expect((await rawInvite(id)).status).toBe(202);
    // the two invites start at different replicas, so exactly one first hit the closed port
    const logs = ids.map(logOf);
    const refused = logs.find((l) => l[0]!.url === closed)!;
    expect(refused).toMatchObject([
      { attempt: 1, status: 0, url: closed },
      { attempt: 2, status: 202, url: urls[1] },
    ]);
    expect(refused[0]!.error).toMatch(/ECONNREFUSED/);
    expect(logs.find((l) => l !== refused)).toMatchObject([{ attempt: 1, status: 202 }]);
  });

  it('a 400 (or any 4xx but 429) is final', async () => {
    const callId = crypto.randomUUID();
    script([400], (x) => callIdOf(x) === callId);
    expect((await rawInvite(callId)).status).toBe(400);
    await sleep(300); // longer than the backoff: a retry would have been sent by now
    expect(logOf(callId)).toMatchObject([{ attempt: 1, status: 400 }]);
  });

  it('a later notification of a call never overtakes an earlier one being retried', async () => {
    const call = await r.sim.placeCall({ tenantId: TENANT, initialRoster: false });
    // 'establishing' fails twice; 'established' is due 20 ms later, well inside the backoff
    script([503, 503], (x) => callIdOf(x) === call.id && stateOf(x) === 'establishing');
    await r.graph.post(`/communications/calls/${call.id}/answer`, answerBody(), TENANT);
    await call.waitFor('established');
    const log = logOf(call.id).map((d: DeliveryLogEntry) => `${d.state}#${d.attempt}:${d.status}`);
    expect(log).toEqual([
      'incoming#1:202',
      'establishing#1:503',
      'establishing#2:503',
      'establishing#3:202',
      'established#1:202',
    ]);
    const got = stubs
      .flatMap((b) => b.received)
      .filter((x) => callIdOf(x) === call.id && x.status === 202)
      .sort((a, b) => a.at - b.at);
    expect(got.map(stateOf)).toEqual(['incoming', 'establishing', 'established']);
  });
});
