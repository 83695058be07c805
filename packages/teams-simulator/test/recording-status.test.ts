/**
 * updateRecordingStatus (docs/teams-protocol.md#recording-status): body validation, 8522 when the
 * call is not live, 8506 for a call that is not a compliance-recording call, and a ledger of every
 * request so a test can tell when the bot was first allowed to persist media.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SimCall } from '../src/index.js';
import { errorOf } from './bot-stub.js';
import { establish, graphAction, startHarness, type Harness, GRAPH_SUCCESS } from './setup.js';

const TENANT = '7e1e0000-0000-4000-8000-0000000000c1';
// Asymmetric matchers are typed `any`; holding them as `unknown` keeps the lint rules meaningful.
const anyNumber: unknown = expect.any(Number);

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ answerDeadlineMs: 10_000 });
  await h.graph.token(TENANT); // warm msal's cache so answers are quick
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => h.sim.clearFaults());

const update = (call: SimCall, body: unknown) =>
  graphAction(h, call, 'updateRecordingStatus', body);

describe('updateRecordingStatus validation and bookkeeping', () => {
  it('answers 400 for invalid bodies, 200 for valid ones in any casing, and records all', async () => {
    const call = await h.sim.placeCall({ tenantId: TENANT });
    await establish(h, call);
    const invalid = [
      { clientContext: 'c1', status: 'paused' },
      { status: 'recording' },
      { clientContext: 'x'.repeat(257), status: 'recording' },
      { clientContext: 42, status: 'recording' },
      { clientContext: 'c5', status: 1 },
    ];
    for (const body of invalid) {
      const res = await update(call, body);
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe('BadRequest');
    }
    expect(call.recordingConfirmedAt).toBeUndefined();
    expect(
      (await update(call, { clientContext: 'y'.repeat(256), status: 'RECORDING' })).status,
    ).toBe(200);
    expect((await update(call, { clientContext: 'c7', status: 'notrecording' })).status).toBe(200);
    expect(
      call.recordingStatusUpdates.map(({ status, accepted, httpStatus }) => ({
        status,
        accepted,
        httpStatus,
      })),
    ).toEqual([
      { status: 'paused', accepted: false, httpStatus: 400 },
      { status: 'recording', accepted: false, httpStatus: 400 },
      { status: 'recording', accepted: false, httpStatus: 400 },
      { status: 'recording', accepted: false, httpStatus: 400 },
      { status: '1', accepted: false, httpStatus: 400 },
      { status: 'recording', accepted: true, httpStatus: 200 },
      { status: 'notRecording', accepted: true, httpStatus: 200 },
    ]);
    expect(call.recordingStatusUpdates[0]!.clientContext).toBe('c1');
    expect(call.recordingStatusUpdates[3]!.clientContext).toBeUndefined();
    expect(call.recordingConfirmedAt).toBe(call.recordingStatusUpdates[5]!.at);
  });

  it('recordingConfirmedAt is the first accepted recording, after failed attempts', async () => {
    const call = await h.sim.placeCall({ tenantId: TENANT });
    const early = await update(call, { clientContext: 'before-answer', status: 'recording' });
    expect(early.status).toBe(404);
    expect((await errorOf(early)).code).toBe('8522');
    await establish(h, call);
    h.sim.addFault({ route: 'updateRecordingStatus', callId: call.id, status: 503 });
    expect((await update(call, { clientContext: 'faulted', status: 'recording' })).status).toBe(
      503,
    );
    expect((await update(call, { clientContext: 'ok-1', status: 'recording' })).status).toBe(200);
    expect((await update(call, { clientContext: 'ok-2', status: 'recording' })).status).toBe(200);
    expect(call.recordingStatusUpdates).toEqual([
      {
        at: anyNumber,
        status: 'recording',
        clientContext: 'before-answer',
        accepted: false,
        httpStatus: 404,
      },
      {
        at: anyNumber,
        status: 'recording',
        clientContext: 'faulted',
        accepted: false,
        httpStatus: 503,
      },
      {
        at: anyNumber,
        status: 'recording',
        clientContext: 'ok-1',
        accepted: true,
        httpStatus: 200,
      },
      {
        at: anyNumber,
        status: 'recording',
        clientContext: 'ok-2',
        accepted: true,
        httpStatus: 200,
      },
    ]);
    expect(call.recordingConfirmedAt).toBe(call.recordingStatusUpdates[2]!.at);
    await call.hangUp();
    const after = await update(call, { clientContext: 'after-end', status: 'notRecording' });
    expect(after.status).toBe(404);
    expect(call.recordingStatusUpdates.at(-1)).toMatchObject({ accepted: false, httpStatus: 404 });
    const shown = call.participants.map((p) => p.recordingInfo.recordingStatus);
    expect(shown).toEqual(['recording', 'recording', 'recording']);
  });

  it('a call that is not a compliance-recording call gets 403 8506', async () => {
    const call = await h.sim.placeCall({ tenantId: TENANT, complianceRecording: false });
    await establish(h, call);
    const res = await update(call, { clientContext: 'ctx', status: 'recording' });
    expect(res.status).toBe(403);
    expect(await errorOf(res)).toMatchObject({
      code: '8506',
      message: 'API call not allowed for non-Compliance Recording call',
    });
    expect(call.recordingStatusUpdates).toMatchObject([
      { status: 'recording', accepted: false, httpStatus: 403 },
    ]);
    expect(call.recordingConfirmedAt).toBeUndefined();
    const shown = call.participants.map((p) => p.recordingInfo.recordingStatus);
    expect(shown).toEqual(['unknown', 'unknown', 'unknown']);
    // Only updateRecordingStatus is refused: the call itself is fine.
    expect((await graphAction(h, call, 'keepAlive')).status).toBeOneOf(GRAPH_SUCCESS);
  });
});
