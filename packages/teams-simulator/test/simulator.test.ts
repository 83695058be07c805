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
import { startHarness, type Harness, GRAPH_SUCCESS } from './setup.js';

const DEADLINE_MS = 1500;
const TENANT = '7e1e0000-0000-4000-8000-0000000000ee';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// Asymmetric matchers are typed `any`; holding them as `unknown` keeps the lint rules meaningful.
const anyString: unknown = expect.any(String);
const guidLike: unknown = expect.stringMatching(GUID);
const orgIdLike: unknown = expect.stringMatching(/^8:orgid:/);

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ answerDeadlineMs: DEADLINE_MS });
  await h.graph.token(TENANT); // warm msal's cache so answers are quick
});
afterAll(async () => {
  await h?.close();
});

const of = (call: SimCall) => (r: Received) => callIdOf(r) === call.id;
const invite = (call: SimCall) => h.bot.next((r) => of(call)(r) && stateOf(r) === 'incoming');
const cbFor = (call: SimCall) => `${h.bot.url}/api/calling/notification/${call.id}`;
const answer = (call: SimCall, callbackUri?: string) =>
  h.graph.post(`/communications/calls/${call.id}/answer`, answerBody(callbackUri), call.tenantId);
const seen = (call: SimCall, path?: string) =>
  h.bot.received.filter((r) => of(call)(r) && (path === undefined || r.path === path));

describe('invites', () => {
  it('delivers a P2P invite shaped like docs/teams-protocol.md#payloads with the real headers and a valid token', async () => {
    const userId = '8a34a46b-3d17-4adc-8dce-dc4e7d572698';
    const call = await h.sim.placeCall({ tenantId: TENANT, userId });
    const r = await invite(call);
    expect(r.path).toBe('/api/calling');
    expect(r.verified.ok && r.verified.payload.tid).toBe(TENANT);
    expect(r.headers).toMatchObject({
      'content-type': 'application/json',
      'user-agent': 'Microsoft-Skype/3.0,(Calling/1.0)',
      'x-microsoft-skype-chain-id': call.callChainId,
      connection: 'close',
    });
    expect(r.headers['x-microsoft-skype-message-id']).toMatch(GUID);
    expect(r.body?.['@odata.type']).toBe('#microsoft.graph.commsNotifications');
    const n = notificationOf(r)!;
    expect(n).toMatchObject({
      changeType: 'created',
      resourceUrl: `/communications/calls/${call.id}`,
      resource: `/app/calls/${call.id}`,
    });
    const c = n.resourceData;
    expect(c).toMatchObject({
      '@odata.type': '#microsoft.graph.call',
      id: call.id,
      state: 'incoming',
      direction: 'incoming',
      callbackUri: h.sim.webhookUrl,
      tenantId: TENANT,
      callChainId: call.callChainId,
      meetingInfo: {
        '@odata.type': '#microsoft.graph.tokenMeetingInfo',
        token: anyString,
      },
      source: { identity: { user: { id: userId, tenantId: TENANT } }, endpointType: 'default' },
    });
    expect(c.myParticipantId).toMatch(GUID);
    expect(c.source?.id).toMatch(GUID);
    expect(c.incomingContext?.observedParticipantId).toBe(c.source?.id);
    expect(c.incomingContext?.sourceParticipantId).toBe(c.source?.id);
    expect(c.targets?.[0]?.identity?.applicationInstance).toMatchObject({
      id: guidLike,
      tenantId: TENANT,
    });
    expect(c.applicationMetadata?.botData).toMatchObject({
      user: {
        participationMethod: 'Callee',
        policyHolderId: `8:orgid:${userId}`,
        policyHolderTenantId: TENANT,
      },
      otherSideUser: { id: orgIdLike },
      inviteReasons: ['ComplianceRecording'],
    });
    expect(c.chatInfo).toBeUndefined();
    const delivery = h.sim.deliveries.find((d) => d.callId === call.id && d.kind === 'incoming');
    expect(delivery).toMatchObject({ status: 202, url: h.sim.webhookUrl, state: 'incoming' });
    expect(delivery!.latencyMs).toBeGreaterThan(0);
  });

  it('delivers a meeting invite shaped like docs/teams-protocol.md#payloads', async () => {
    const call = await h.sim.placeCall({ tenantId: TENANT, kind: 'meeting' });
    const c = notificationOf(await invite(call))!.resourceData;
    expect(c.chatInfo?.threadId).toMatch(/^19:meeting_.+@thread\.v2$/);
    expect(c.applicationMetadata?.botData?.user?.participationMethod).toBe('DialOut');
    expect(c.applicationMetadata?.botData?.otherSideUser).toBeUndefined();
    expect(c.meetingInfo?.['@odata.type']).toBe('#microsoft.graph.tokenMeetingInfo');
  });

  it("'real' casing capitalises changeType, state and endpointType", async () => {
    const call = await h.sim.placeCall({ tenantId: TENANT, casing: 'real' });
    const n = notificationOf(await invite(call))!;
    expect(n.changeType).toBe('Created');
    expect(n.resourceData.source?.endpointType).toBe('Default');
    await answer(call);
    await call.waitFor('established');
    await call.hangUp();
    const changes = seen(call).map(
      (r) => `${notificationOf(r)!.changeType} ${notificationOf(r)!.resourceData.state}`,
    );
    expect(changes).toEqual([
      'Created Incoming',
      'Updated Establishing',
      'Updated Established',
      'Updated Terminating',
      'Deleted Terminated',
    ]);
  });
});

describe('answer, deadline, reject, hang-up', () => {
  it('answer before the deadline: establishing then established go to the callbackUri', async () => {
    const call = await h.sim.placeCall({ tenantId: TENANT });
    await invite(call);
    expect((await answer(call, cbFor(call))).status).toBeOneOf(GRAPH_SUCCESS);
    await call.waitFor('established');
    const callbacks = seen(call, `/api/calling/notification/${call.id}`);
    expect(callbacks.map(stateOf)).toEqual(['establishing', 'established']);
    expect(
      callbacks.every((r) => r.verified.ok && notificationOf(r)!.changeType === 'updated'),
    ).toBe(true);
    expect(call).toMatchObject({
      state: 'established',
      userOutcome: 'recorded',
      answerAttempts: 1,
    });
    expect(call.answer?.body).toMatchObject({ callbackUri: cbFor(call) });
  });

  it('swapEstablishOrder sends established first and keeps the state established', async () => {
    const call = await h.sim.placeCall({ tenantId: TENANT, swapEstablishOrder: true });
    await answer(call, cbFor(call));
    await call.waitFor('establishing');
    expect(seen(call, `/api/calling/notification/${call.id}`).map(stateOf)).toEqual([
      'established',
      'establishing',
    ]);
    expect(call.state).toBe('established');
  });

  it('reject: 202, then only a deleted notification; a later answer gets 404', async () => {
    const call = await h.sim.placeCall({ tenantId: TENANT });
    await invite(call);
    const res = await h.graph.post(
      `/communications/calls/${call.id}/reject`,
      { reason: 'busy' },
      TENANT,
    );
    expect(res.status).toBeOneOf(GRAPH_SUCCESS);
    await call.waitFor('terminated');
    expect(seen(call).map((r) => `${notificationOf(r)!.changeType} ${stateOf(r)}`)).toEqual([
      'created incoming',
      'deleted terminated',
    ]);
    expect(call).toMatchObject({
      reject: { reason: 'busy' },
      userOutcome: 'callCancelled',
      state: 'terminated',
    });
    expect((await answer(call)).status).toBe(404);
  });

  it('DELETE: 204, then terminating and terminated 200/7000 at the callbackUri', async () => {
    const call = await h.sim.placeCall({ tenantId: TENANT });
    await answer(call, cbFor(call));
    await call.waitFor('established');
    const res = await h.graph.request('DELETE', `/communications/calls/${call.id}`, TENANT);
    expect(res.status).toBeOneOf(GRAPH_SUCCESS);
    await call.waitFor('terminated');
    const cb = seen(call, `/api/calling/notification/${call.id}`);
    expect(cb.map(stateOf)).toEqual(['establishing', 'established', 'terminating', 'terminated']);
    expect(notificationOf(cb[3]!)).toMatchObject({
      changeType: 'deleted',
      resourceData: { resultInfo: { code: 200, subcode: 7000 } },
    });
    expect(
      (await h.graph.request('DELETE', `/communications/calls/${call.id}`, TENANT)).status,
    ).toBe(404);
  });

  it('remote hang-up ends with 200/5002 in meetings and 200/4097 after holdMs in P2P', async () => {
    const meeting = await h.sim.placeCall({ tenantId: TENANT, kind: 'meeting' });
    await answer(meeting);
    await meeting.waitFor('established');
    await meeting.hangUp();
    expect(meeting.result).toMatchObject({ code: 200, subcode: 5002 });
    const p2p = await h.sim.placeCall({ tenantId: TENANT, holdMs: 100 });
    await answer(p2p);
    await p2p.waitFor('terminated');
    expect(p2p.result).toMatchObject({ code: 200, subcode: 4097 });
    expect(seen(p2p).map(stateOf)).toEqual([
      'incoming',
      'establishing',
      'established',
      'terminating',
      'terminated',
    ]);
    expect(p2p.userOutcome).toBe('recorded');
  });
});

describe('the answer deadline, on a manual clock', () => {
  const clock = new ManualClock();
  let m: Harness;
  beforeAll(async () => {
    m = await startHarness({ clock, answerDeadlineMs: DEADLINE_MS });
    await m.graph.token(TENANT);
  });
  afterAll(async () => {
    await m?.close();
  });

  it('a late answer gets 404 8522; the leg ended 408/8544 with a deleted notification', async () => {
    const call = await m.sim.placeCall({ tenantId: TENANT });
    await clock.advance(DEADLINE_MS - 1);
    expect(call.state).toBe('invited');
    await clock.advance(1);
    const deleted = await m.bot.next((r) => callIdOf(r) === call.id && stateOf(r) === 'terminated');
    expect(deleted.path).toBe('/api/calling');
    await call.waitFor('terminated'); // its delivery is logged by then
    const logged = m.sim.deliveries.find((d) => d.callId === call.id && d.kind === 'deleted');
    expect(logged?.at).toBe(call.invitedAt + DEADLINE_MS);
    expect(notificationOf(deleted)).toMatchObject({
      changeType: 'deleted',
      resourceData: {
        resultInfo: { code: 408, subcode: 8544, message: 'Callee could not be reached.' },
      },
    });
    const late = await m.graph.post(
      `/communications/calls/${call.id}/answer`,
      answerBody(),
      call.tenantId,
    );
    expect(late.status).toBe(404);
    expect(await errorOf(late)).toMatchObject({
      code: '8522',
      message: 'Call not found.',
    });
    expect(call).toMatchObject({
      state: 'terminated',
      userOutcome: 'callCancelled',
      result: { code: 408, subcode: 8544 },
      answerAttempts: 1,
    });
    expect(call.answer).toBeUndefined();
  });

  it('waitFor rejects clearly when the call ends without reaching the state', async () => {
    const call = await m.sim.placeCall({ tenantId: TENANT });
    const established = call.waitFor('established', 5000);
    await clock.advance(DEADLINE_MS);
    await expect(established).rejects.toThrow(/ended 408\/8544 before reaching 'established'/);
    // Once ended, a wait for an unreached state fails at once instead of timing out.
    await expect(call.waitFor('established', 60_000)).rejects.toThrow(/never 'established'/);
  });
});
