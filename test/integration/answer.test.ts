/**
 * The answer path end to end through the simulator: Teams-signed invites → ingress → Redis commit →
 * BullMQ → Graph answer (HTTPS, msal token from the fake Entra) → establishing/established.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateName } from '../../src/calls/runtime.js';
import { callReaches, eventually, startSystem, type System } from '../helpers/system.js';

let system: System;

beforeAll(async () => {
  system = await startSystem({ name: 'answer' });
});
afterAll(async () => {
  await system?.close();
});

const answerRequests = (callId: string) =>
  system.sim.requests.filter((r) => r.route === 'answer' && r.callId === callId);

describe('answering policy invites', () => {
  it('answers a 1:1 invite before the deadline with a correct answer body', async () => {
    const call = await system.sim.placeCall({ kind: 'p2p' });
    await call.waitFor('established', 8000);
    const state = await callReaches(system, call.id, 'established');
    expect(call.answer).toBeDefined();
    const latency = call.answer!.at - call.invitedAt;
    expect(latency).toBeLessThan(5000);
    const body = call.answer!.body as Record<string, unknown>;
    expect(body.callbackUri).toBe(`${system.config.publicBaseUrl}/api/calling`);
    expect(body.acceptedModalities).toEqual(['audio']);
    expect(body.participantCapacity).toBe(1);
    const media = body.mediaConfig as { '@odata.type': string; blob: string };
    expect(media['@odata.type']).toBe('#microsoft.graph.appHostedMediaConfig');
    expect(JSON.parse(media.blob)).toMatchObject({
      mpUri: `tls://${system.config.mediaPublicHost}:${system.config.mediaPort}`,
      callId: call.id,
    });
    expect(state.snapshot.context.invite).toMatchObject({
      tenantId: call.tenantId,
      kind: 'p2p',
      recordedUserId: call.userId,
    });
    const path = state.snapshot.context.trail.map(([s]) => s);
    expect(path.slice(0, 2)).toEqual(['incoming', 'answering']);
    expect(path).toContain('establishing');
    expect(path.at(-1)).toBe('established');
    // what Teams saw: one answer, with a bearer token the fake Entra issued for the call's tenant
    expect(answerRequests(call.id)).toHaveLength(1);
    // Graph's success shape varies per request (200, 202 or 204): any is an answer
    expect(answerRequests(call.id)[0]?.status).toBeOneOf([200, 202, 204]);
    expect(system.sim.requests.some((r) => r.route === 'token' && r.status === 200)).toBe(true);
  });

  it('answers a meeting invite and records it as a meeting', async () => {
    const call = await system.sim.placeCall({ kind: 'meeting' });
    await call.waitFor('established', 8000);
    const state = await callReaches(system, call.id, 'established');
    expect(state.snapshot.context.invite?.kind).toBe('meeting');
    expect(call.answer!.at - call.invitedAt).toBeLessThan(5000);
    expect(call.userOutcome).toBe('recorded');
  });

  it('ends established when established arrives before establishing', async () => {
    const call = await system.sim.placeCall({
      kind: 'p2p',
      swapEstablishOrder: true,
      initialRoster: false,
    });
    await eventually(() =>
      system.sim.deliveries.filter((d) => d.callId === call.id).length >= 3 ? true : undefined,
    );
    await call.waitFor('established', 8000);
    const state = await callReaches(system, call.id, 'established');
    // give the late 'establishing' time to arrive; it must not move the call back
    await eventually(() =>
      system.sim.deliveries.some(
        (d) =>
          d.callId === call.id &&
          d.kind === 'state' &&
          /establishing/i.test(JSON.stringify(d.body)),
      )
        ? true
        : undefined,
    );
    const after = await system.core.runtime.getCall(call.id);
    expect(stateName(after!.snapshot)).toBe('live.established.awaitingMedia');
    expect(after?.version).toBe(state.version);
  });

  it('a duplicated notification changes nothing', async () => {
    const call = await system.sim.placeCall({
      kind: 'p2p',
      duplicateNotifications: true,
      initialRoster: false,
    });
    await call.waitFor('established', 8000);
    await callReaches(system, call.id, 'established');
    const deliveries = system.sim.deliveries.filter((d) => d.callId === call.id);
    await eventually(() =>
      deliveries.length >= 6 ||
      system.sim.deliveries.filter((d) => d.callId === call.id).length >= 6
        ? true
        : undefined,
    );
    expect(
      system.sim.deliveries.filter((d) => d.callId === call.id).every((d) => d.status === 202),
    ).toBe(true);
    const final = await system.core.runtime.getCall(call.id);
    // incoming→answering, answer accepted, establishing, established: four commits, no more
    expect(final?.version).toBe(4);
    expect(answerRequests(call.id)).toHaveLength(1);
  });

  it('retries a Graph 429 after its Retry-After and still answers in time', async () => {
    const callId = `retry-${Date.now()}`;
    system.sim.addFault({ route: 'answer', status: 429, retryAfter: '0.6', times: 1, callId });
    const call = await system.sim.placeCall({ kind: 'p2p', callId });
    await call.waitFor('established', 8000);
    const attempts = answerRequests(callId);
    expect(attempts[0]?.status).toBe(429);
    expect(attempts[1]?.status).toBeOneOf([200, 202, 204]);
    expect(attempts).toHaveLength(2);
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(600);
    expect(call.answer!.at - call.invitedAt).toBeLessThan(5000);
    const state = await callReaches(system, callId, 'established');
    expect(state.snapshot.context.answerAttempts).toBe(2);
  });

  it('a Graph that stays down fails the call at the deadline and sends no answer after it', async () => {
    const callId = `down-${Date.now()}`;
    system.sim.addFault({ route: 'answer', status: 503, times: Infinity, callId });
    const call = await system.sim.placeCall({ kind: 'p2p', callId });
    const failed = await callReaches(system, callId, 'failed', 9000);
    expect(failed.snapshot.context.failure?.reason).toMatch(/answer-/);
    const deadlineAt = failed.snapshot.context.deadlineAt!;
    await call.waitFor('terminated', 9000); // Teams gives up: 408/8544
    expect(call.result).toMatchObject({ code: 408, subcode: 8544 });
    expect(call.userOutcome).toBe('callCancelled'); // RequiredBeforeCallEstablishment
    // the answer job is finished for good: no attempt can still be pending
    const job = await system.core.queues.graph.getJob(`${callId}-answer-g1`);
    await eventually(
      async () => ((await job?.getState()) === 'failed' ? true : undefined),
      15_000,
      'the answer job to fail',
    );
    const attempts = answerRequests(callId);
    expect(attempts.length).toBeGreaterThan(1); // it did retry
    expect(attempts.every((r) => r.at < deadlineAt)).toBe(true);
    expect(attempts.every((r) => r.status === 503)).toBe(true);
    system.sim.clearFaults();
  }, 30_000);

  it('reads real-world casing ("Established", "Deleted", "Terminated") and keeps the result code', async () => {
    const call = await system.sim.placeCall({ kind: 'p2p', casing: 'real', holdMs: 100 });
    await call.waitFor('terminated', 8000);
    const state = await callReaches(system, call.id, 'terminated');
    expect(state.snapshot.context.resultInfo).toMatchObject({ code: 200, subcode: 4097 });
    expect(state.snapshot.context.establishedAt).toBeDefined();
  });

  it('answers 202 only once the invite is committed to Redis', async () => {
    const callId = `commit-${Date.now()}`;
    const tenantId = '5a0c3a3e-4f65-4c09-9a52-1c2d3e4f5a6b';
    const res = await system.sim.deliver(system.sim.inviteBody({ kind: 'p2p', callId, tenantId }), {
      tenantId,
    });
    expect(res.status).toBe(202);
    const call = await system.core.runtime.getCall(callId); // no waiting: it must be there already
    expect(call?.version).toBeGreaterThanOrEqual(1);
    expect(call?.snapshot.context.deadlineAt).toBeGreaterThan(Date.now());
  });

  it('gets one Graph token per tenant and reuses it across calls', async () => {
    const tenantId = '7e1d2c3b-4a59-4687-9a1b-2c3d4e5f6a7b';
    const first = await system.sim.placeCall({ kind: 'p2p', tenantId });
    const second = await system.sim.placeCall({ kind: 'meeting', tenantId });
    await Promise.all([first.waitFor('established', 8000), second.waitFor('established', 8000)]);
    const tokenRequests = system.sim.requests.filter(
      (r) => r.route === 'token' && r.path.includes(tenantId),
    );
    expect(tokenRequests).toHaveLength(1);
  });
});
