/**
 * The runtime restores and persists call snapshots without going through an actor
 * (`restoreSnapshot`, `persistSnapshot`); whatever sequence of events built a snapshot, both
 * must give exactly what the machine's own restore and persist give: the same bytes stored, the
 * same snapshot restored, the same next transition.
 */
import fc from 'fast-check';
import { createActor, initialTransition, transition } from 'xstate';
import { describe, expect, it } from 'vitest';
import { callMachine, type CallEvent } from '../../machines/call.js';
import { persistSnapshot, restoreSnapshot, type CallSnapshot } from '../../src/calls/runtime.js';
import { incoming, participant } from '../helpers/call-events.js';

const T0 = 1_700_000_000_000;

/** Events of every kind the call takes, timed by their position in the sequence. */
const eventAt = (kind: number, gen: number, at: number): CallEvent => {
  const roster = (ids: string[]) => ids.map((id, i) => participant(id, i + 1));
  const all: CallEvent[] = [
    incoming('c1', at),
    { type: 'CALL.ESTABLISHING', at },
    { type: 'GRAPH.ANSWER_ACCEPTED', at, attempts: 1 },
    { type: 'CALL.ESTABLISHED', at },
    { type: 'CALL.ROSTER', at, update: { mode: 'full', participants: roster(['a', 'b', 'bot']) } },
    { type: 'CALL.ROSTER', at, update: { mode: 'removed', participants: roster(['b']) } },
    { type: 'MEDIA.CONNECTED', at },
    { type: 'MEDIA.FLOWING', at },
    { type: 'GRAPH.RECORDING_STATUS_OK', at, recordingStatus: 'recording', attempts: 1 },
    { type: 'MEDIA.LOST', at, reason: 'socket closed' },
    { type: 'GRAPH.KEEPALIVE_OK', at },
    { type: 'TIMER.KEEPALIVE_DUE', at, gen },
    { type: 'TIMER.MEDIA_ARRIVAL', at, gen },
    { type: 'CALL.HANGUP', at, reason: 'policy' },
    { type: 'MEDIA.STOPPED', at, gen },
    { type: 'CALL.TERMINATING', at },
    { type: 'CALL.TERMINATED', at, resultInfo: { code: 200, subcode: 5001, message: 'bye' } },
  ];
  return all[kind % all.length]!;
};

/** Invite, answer, establishing, established, roster, media, recording confirmed. */
const HAPPY = [0, 2, 1, 3, 4, 6, 7, 8];

const viaActor = (json: unknown): CallSnapshot =>
  createActor(callMachine, { snapshot: json as CallSnapshot }).getSnapshot();

describe('restoring and persisting a call snapshot without an actor', () => {
  it('gives what the machine gives, at every step of any sequence of events', () => {
    // a happy path's prefix of any length (to reach the states deep in a call), then anything
    const event = fc.tuple(fc.nat(40), fc.integer({ min: 1, max: 8 }));
    const steps = fc
      .tuple(fc.nat(HAPPY.length), fc.array(event, { maxLength: 20 }))
      .map(([n, rest]) => [...HAPPY.slice(0, n).map((kind) => [kind, 1] as const), ...rest])
      .filter((sequence) => sequence.length > 0);
    fc.assert(
      fc.property(steps, (sequence) => {
        let [s] = initialTransition(callMachine);
        sequence.forEach(([kind, gen], i) => {
          const event = eventAt(kind, gen, T0 + i * 10);
          const ours = JSON.stringify(persistSnapshot(s));
          expect(ours).toBe(JSON.stringify(callMachine.getPersistedSnapshot(s)));
          const restored = restoreSnapshot(JSON.parse(ours));
          const reference = viaActor(JSON.parse(ours));
          expect(restored.value).toEqual(reference.value);
          expect(restored.status).toBe(reference.status);
          expect(restored.context).toEqual(reference.context);
          expect([...restored.tags]).toEqual([...reference.tags]);
          const [next, actions] = transition(callMachine, restored, event);
          const [expected, expectedActions] = transition(callMachine, reference, event);
          expect(JSON.stringify(persistSnapshot(next))).toBe(
            JSON.stringify(callMachine.getPersistedSnapshot(expected)),
          );
          // (inline actions get ids from a counter that runs on between the two transitions)
          const shape = (a: typeof actions) => a.map(({ type, params }) => ({ type, params }));
          expect(shape(actions)).toEqual(shape(expectedActions));
          s = next;
        });
      }),
      { numRuns: 300 },
    );
  });

  it('reaches the states deep in a call (the sequences above are not all stuck at the start)', () => {
    let [s] = initialTransition(callMachine);
    for (const kind of [0, 2, 1, 3, 4, 6, 7, 8])
      s = transition(callMachine, s, eventAt(kind, 1, T0))[0];
    const restored = restoreSnapshot(JSON.parse(JSON.stringify(persistSnapshot(s))));
    expect(restored.value).toEqual({ live: { established: 'recording' } });
    expect(restored.context.recording.persist).toBe(true);
    expect(Object.keys(restored.context.roster.participants)).toEqual(['a', 'b', 'bot']);
  });
});
