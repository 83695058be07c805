/**
 * What `npm run inspect` hands to Stately's inspector: a real call context (tenant, recorded
 * user, participants with identities, a reason from outside) and a real event, sanitised to
 * states and timings only.
 */
import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { callMachine, type CallEvent } from '../../machines/call.js';
import { sanitizeContext, sanitizeEvent } from '../../src/cli/inspect.js';
import { incoming, participant } from '../helpers/call-events.js';

const TENANT = 'tenant-5d3c1b2a-9f8e';
const USER = 'user-0a1b2c3d-recorded';

describe('inspect sanitisation', () => {
  it('keeps states and timings, drops every id, identity and outside text', () => {
    const invite = incoming('call-secret-id', 1000);
    invite.invite = { ...invite.invite, tenantId: TENANT, recordedUserId: USER };
    let [snapshot] = initialTransition(callMachine);
    const events: CallEvent[] = [
      invite,
      { type: 'GRAPH.ANSWER_ACCEPTED', at: 1100, attempts: 1 },
      { type: 'CALL.ESTABLISHED', at: 1200 },
      {
        type: 'CALL.ROSTER',
        at: 1300,
        update: { mode: 'full', participants: [participant('leg-7f3e', 1)] },
      },
      { type: 'MEDIA.FAULT', at: 1400, reason: 'disk /secret/path full' },
    ];
    for (const event of events) [snapshot] = transition(callMachine, snapshot, event);
    const raw = JSON.stringify(snapshot.context);
    // the unsanitised context holds them: the check below is not vacuous
    for (const secret of [
      TENANT,
      USER,
      'call-secret-id',
      'leg-7f3e',
      'user-leg-7f3e',
      '/secret/path',
    ]) {
      expect(raw).toContain(secret);
    }
    const clean = JSON.stringify(sanitizeContext(snapshot.context));
    for (const secret of [
      TENANT,
      USER,
      'call-secret-id',
      'leg-7f3e',
      'user-leg-7f3e',
      '/secret/path',
    ]) {
      expect(clean).not.toContain(secret);
    }
    expect(JSON.parse(clean)).toMatchObject({ kind: 'p2p', answeredAt: 1100, participants: 1 });
    expect(sanitizeEvent(invite)).toEqual({ type: 'CALL.INCOMING', at: 1000 });
    expect(sanitizeEvent({ type: 'MEDIA.FAULT', at: 5, reason: 'token=abc', gen: 3 })).toEqual({
      type: 'MEDIA.FAULT',
      at: 5,
      gen: 3,
    });
  });
});
