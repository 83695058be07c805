/**
 * Roster limits through the ingress (configuration → parsing → the call in Redis): a
 * notification's participants beyond ROSTER_MAX_PER_NOTIFICATION and ids longer than
 * ROSTER_MAX_ID_LENGTH are cut (and counted), newcomers beyond ROSTER_MAX_PARTICIPANTS are not
 * kept (counted in the call), and the call goes on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toParticipants } from '../../src/http/roster.js';
import { placeEstablished, startSystem, type System } from '../helpers/system.js';

let system: System;
beforeAll(async () => {
  system = await startSystem({
    name: 'roster-limits',
    env: {
      ROSTER_MAX_PER_NOTIFICATION: '4',
      ROSTER_MAX_ID_LENGTH: '64',
      ROSTER_MAX_PARTICIPANTS: '2',
    },
  });
});
afterAll(() => system?.close());

const participant = (id: string, userId = `user-${id}`, sourceId = '7') => ({
  '@odata.type': '#microsoft.graph.participant',
  id,
  info: { identity: { user: { id: userId, tenantId: 't' } } },
  mediaStreams: [{ mediaType: 'audio', sourceId, direction: 'sendReceive', serverMuted: false }],
  isMuted: false,
  isInLobby: false,
});

describe('roster limits', () => {
  it('cuts long ids, participants beyond the notification cap and beyond the call cap', async () => {
    const call = await placeEstablished(system, { kind: 'meeting', initialRoster: false });
    const long = 'x'.repeat(100);
    const body = {
      value: [
        {
          changeType: 'updated',
          resourceUrl: `/communications/calls/${call.id}/participants`,
          resourceData: [
            participant(long), // its own id is too long: not kept
            participant('p1', long), // its identity id is too long: the identity keeps no id
            participant('p2', undefined, '9'.repeat(70)), // a source id too long: no source
            participant('p3'), // beyond the call cap of 2
            participant('p4'), // beyond the notification cap of 4
          ],
        },
      ],
    };
    const res = await system.sim.deliver(body, { tenantId: call.tenantId });
    expect(res.status).toBe(202);
    const stored = await system.core.runtime.getCall(call.id);
    const roster = stored!.snapshot.context.roster;
    expect(Object.keys(roster.participants).sort()).toEqual(['p1', 'p2']);
    expect(roster.participants.p1?.identities).toEqual([{ kind: 'user', tenantId: 't' }]);
    expect(roster.participants.p2?.sources).toEqual({});
    expect(roster.dropped).toBe(1);
  });

  it('counts what it cut', () => {
    const { participants, cuts } = toParticipants(
      [participant('x'.repeat(20)), participant('a', 'y'.repeat(20)), participant('b')],
      { maxPerNotification: 2, maxIdLength: 16 },
    );
    expect(participants.map((p) => p.id)).toEqual(['a']);
    expect(cuts).toEqual({ participants: 2, ids: 1 });
  });
});
