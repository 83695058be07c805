/**
 * The user-side outcome of the recording application's flags (docs/teams-protocol.md#policy-flags):
 * for each way the bot's leg can go — never joined, joined, dropped while the user's call went on,
 * or the user's call itself ended — P2P and meeting, flags on (the defaults) and off.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  PlaceCallOptions,
  SimCall,
  SimUserOutcome,
  SimUserOutcomeReason,
} from '../src/index.js';
import { answerBody } from './bot-stub.js';
import { establish, graphAction, startHarness, type Harness, GRAPH_SUCCESS } from './setup.js';

const TENANT = '7e1e0000-0000-4000-8000-0000000000d1';
// Long enough that an answer or reject lands in time while other test files run alongside.
const DEADLINE_MS = 1000;
// Above 2 × ESTABLISH_DELAY_MS plus slack, so a leg is established well before it can starve.
const KEEPALIVE_MS = 1500;
// Long enough that a DELETE right after the answer lands before 'establishing'.
const ESTABLISH_DELAY_MS = 250;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    answerDeadlineMs: DEADLINE_MS,
    keepAliveTimeoutMs: KEEPALIVE_MS,
    establishDelayMs: ESTABLISH_DELAY_MS,
  });
  await h.graph.token(TENANT); // warm msal's cache so answers are quick
});
afterAll(async () => {
  await h?.close();
});

type Way =
  | 'deadline'
  | 'reject'
  | 'deleteBeforeEstablished'
  | 'delete'
  | 'keepAliveExpiry'
  | 'mediaFailure'
  | 'remoteHangUp';

/** Drive the bot's leg one way; resolves once the leg ended. */
async function drive(call: SimCall, way: Way): Promise<void> {
  const del = () => h.graph.request('DELETE', `/communications/calls/${call.id}`, call.tenantId);
  switch (way) {
    case 'deadline':
      break;
    case 'reject':
      expect((await graphAction(h, call, 'reject', { reason: 'none' })).status).toBeOneOf(
        GRAPH_SUCCESS,
      );
      break;
    case 'deleteBeforeEstablished':
      expect((await graphAction(h, call, 'answer', answerBody())).status).toBeOneOf(GRAPH_SUCCESS);
      expect((await del()).status).toBeOneOf(GRAPH_SUCCESS);
      break;
    case 'delete':
      await establish(h, call);
      expect((await del()).status).toBeOneOf(GRAPH_SUCCESS);
      break;
    case 'keepAliveExpiry':
      await establish(h, call);
      break;
    case 'mediaFailure':
      await establish(h, call);
      await call.failMedia();
      break;
    case 'remoteHangUp':
      await establish(h, call);
      await call.hangUp();
      break;
  }
  await call.waitFor('terminated', 5000);
}

const REASON: Record<Exclude<Way, 'remoteHangUp'>, SimUserOutcomeReason> = {
  deadline: 'deadlineMissed',
  reject: 'rejected',
  deleteBeforeEstablished: 'botHungUp',
  delete: 'botHungUp',
  keepAliveExpiry: 'keepAliveExpired',
  mediaFailure: 'mediaFailed',
};
const JOINED = new Set<Way>(['delete', 'keepAliveExpiry', 'mediaFailure', 'remoteHangUp']);

interface Case {
  kind: 'p2p' | 'meeting';
  way: Way;
  policy?: PlaceCallOptions['policy'];
  outcome: SimUserOutcome;
}

const p2pOff = { requiredBeforeCallEstablishment: false, requiredDuringCall: false };
const meetingOff = { requiredBeforeMeetingJoin: false, requiredDuringMeeting: false };
const CASES: Case[] = [
  // P2P, bot never joined: RequiredBeforeCallEstablishment
  { kind: 'p2p', way: 'deadline', outcome: 'callCancelled' },
  { kind: 'p2p', way: 'reject', outcome: 'callCancelled' },
  { kind: 'p2p', way: 'deleteBeforeEstablished', outcome: 'callCancelled' },
  { kind: 'p2p', way: 'deadline', policy: p2pOff, outcome: 'proceedsUnrecorded' },
  { kind: 'p2p', way: 'reject', policy: p2pOff, outcome: 'proceedsUnrecorded' },
  // P2P, bot dropped: RequiredDuringCall (the "before" flag alone must not matter)
  { kind: 'p2p', way: 'delete', outcome: 'callCancelled' },
  { kind: 'p2p', way: 'keepAliveExpiry', outcome: 'callCancelled' },
  { kind: 'p2p', way: 'mediaFailure', outcome: 'callCancelled' },
  {
    kind: 'p2p',
    way: 'delete',
    policy: { requiredBeforeCallEstablishment: false },
    outcome: 'callCancelled',
  },
  {
    kind: 'p2p',
    way: 'delete',
    policy: { requiredDuringCall: false },
    outcome: 'proceedsUnrecorded',
  },
  { kind: 'p2p', way: 'mediaFailure', policy: p2pOff, outcome: 'proceedsUnrecorded' },
  // Meeting, bot never joined: RequiredBeforeMeetingJoin
  { kind: 'meeting', way: 'deadline', outcome: 'userBlocked' },
  { kind: 'meeting', way: 'reject', outcome: 'userBlocked' },
  { kind: 'meeting', way: 'deleteBeforeEstablished', outcome: 'userBlocked' },
  {
    kind: 'meeting',
    way: 'deadline',
    policy: { requiredBeforeMeetingJoin: false },
    outcome: 'proceedsUnrecorded',
  },
  // Meeting, bot dropped: RequiredDuringMeeting
  { kind: 'meeting', way: 'delete', outcome: 'userEjected' },
  { kind: 'meeting', way: 'keepAliveExpiry', outcome: 'userEjected' },
  { kind: 'meeting', way: 'mediaFailure', outcome: 'userEjected' },
  {
    kind: 'meeting',
    way: 'delete',
    policy: { requiredBeforeMeetingJoin: false },
    outcome: 'userEjected',
  },
  {
    kind: 'meeting',
    way: 'keepAliveExpiry',
    policy: { requiredDuringMeeting: false },
    outcome: 'proceedsUnrecorded',
  },
  // Flags of the other call kind do not apply.
  { kind: 'meeting', way: 'delete', policy: p2pOff, outcome: 'userEjected' },
  { kind: 'p2p', way: 'delete', policy: meetingOff, outcome: 'callCancelled' },
  // The user's call itself ended: it was recorded, nothing more.
  { kind: 'p2p', way: 'remoteHangUp', outcome: 'recorded' },
  { kind: 'meeting', way: 'remoteHangUp', outcome: 'recorded' },
];

const name = (c: Case) =>
  `${c.kind} ${c.way} ${c.policy ? JSON.stringify(c.policy) : 'defaults'} → ${c.outcome}`;

describe('user-side outcome of the policy flags', () => {
  it.concurrent.each(CASES.map((c) => [name(c), c] as const))('%s', async (_, c) => {
    const call = await h.sim.placeCall({ tenantId: TENANT, kind: c.kind, policy: c.policy });
    expect(call.userOutcome).toBe('pending');
    await drive(call, c.way);
    expect(call.userOutcome).toBe(c.outcome);
    const events = call.userEvents.map(({ outcome, reason }) => `${outcome}/${reason}`);
    const joined = JOINED.has(c.way) ? ['recorded/established'] : [];
    const dropped = c.way === 'remoteHangUp' ? [] : [`${c.outcome}/${REASON[c.way]}`];
    expect(events).toEqual([...joined, ...dropped]);
    const at = call.userEvents.map((e) => e.at);
    expect(at).toEqual([...at].sort((a, b) => a - b));
  });
});

describe('waitForOutcome', () => {
  it('resolves when the outcome is decided, even before the bot is told', async () => {
    const call = await h.sim.placeCall({ tenantId: TENANT, kind: 'meeting' });
    await call.waitForOutcome('userBlocked', DEADLINE_MS + 2000);
    expect(Date.now() - call.invitedAt).toBeGreaterThanOrEqual(DEADLINE_MS - 5);
    expect(call.userOutcome).toBe('userBlocked');
  });

  it('resolves for an outcome reached earlier and rejects once the call ended without it', async () => {
    const call = await h.sim.placeCall({ tenantId: TENANT });
    const ejected = call.waitForOutcome('userEjected', 5000);
    await establish(h, call);
    await call.waitForOutcome('recorded', 100);
    await call.hangUp();
    await expect(ejected).rejects.toThrow(/ended 200\/4097 before reaching outcome 'userEjected'/);
    await call.waitForOutcome('recorded', 100);
    await expect(call.waitForOutcome('callCancelled', 60_000)).rejects.toThrow(
      /user recorded, never 'callCancelled'/,
    );
  });
});
