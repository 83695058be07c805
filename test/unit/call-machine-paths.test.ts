/**
 * Model-based coverage: xstate/graph walks the call machine with every kind
 * of event, finds a shortest path to each reachable state, and each path is replayed here. The
 * test fails if a state node is unreachable (dead design) or a path stops reaching its state.
 */
import { describe, expect, it } from 'vitest';
import { initialTransition, transition, type SnapshotFrom } from 'xstate';
import { getShortestPaths, getStateNodes } from 'xstate/graph';
import {
  callMachine,
  type CallEvent,
  type TimerEventType,
  type TimerId,
} from '../../machines/call.js';
import { stateName } from '../../src/calls/runtime.js';
import { incoming, participant } from '../helpers/call-events.js';

type Snapshot = SnapshotFrom<typeof callMachine>;
const T = 1_700_000_000_000;
const TIMERS: Array<[TimerId, TimerEventType]> = [
  ['answerDeadline', 'TIMER.ANSWER_DEADLINE'],
  ['keepAlive', 'TIMER.KEEPALIVE_DUE'],
  ['mediaArrival', 'TIMER.MEDIA_ARRIVAL'],
  ['mediaStop', 'TIMER.MEDIA_STOP'],
];

/** One event of every kind the machine knows, with the armed timers' current generations. */
function eventsFor(s: Snapshot): CallEvent[] {
  const at = T + 1;
  return [
    incoming('c1', T),
    incoming('c1', T, { action: 'reject', reason: 'busy', rule: 'capacity' }),
    { type: 'CALL.ESTABLISHING', at },
    { type: 'CALL.ESTABLISHED', at },
    { type: 'CALL.TERMINATING', at },
    { type: 'CALL.TERMINATED', at, resultInfo: { code: 200, subcode: 4097, message: '' } },
    { type: 'CALL.TERMINATED', at, resultInfo: { code: 408, subcode: 8544, message: '' } },
    { type: 'CALL.ROSTER', at, update: { mode: 'full', participants: [participant('a', 1)] } },
    { type: 'CALL.HANGUP', at, reason: 'operator' },
    { type: 'GRAPH.ANSWER_ACCEPTED', at, attempts: 1 },
    { type: 'GRAPH.ANSWER_FAILED', at, reason: '403', httpStatus: 403, attempts: 1 },
    { type: 'GRAPH.REJECT_ACCEPTED', at },
    { type: 'GRAPH.REJECT_FAILED', at, reason: '403', httpStatus: 403 },
    ...(['recording', 'notRecording', 'failed'] as const).flatMap(
      (recordingStatus): CallEvent[] => [
        { type: 'GRAPH.RECORDING_STATUS_OK', at, recordingStatus, attempts: 1 },
        { type: 'GRAPH.RECORDING_STATUS_FAILED', at, recordingStatus, reason: 'x', attempts: 1 },
      ],
    ),
    { type: 'GRAPH.KEEPALIVE_OK', at },
    { type: 'GRAPH.KEEPALIVE_FAILED', at, reason: '8522', httpStatus: 404 },
    { type: 'GRAPH.HANGUP_OK', at },
    { type: 'GRAPH.HANGUP_FAILED', at, reason: '8522', httpStatus: 404 },
    { type: 'MEDIA.CONNECTED', at },
    { type: 'MEDIA.FLOWING', at },
    { type: 'MEDIA.LOST', at, reason: 'socket closed' },
    { type: 'MEDIA.ENDED', at },
    { type: 'MEDIA.FAULT', at, reason: 'lost' },
    ...(s.context.recording.stop
      ? [{ type: 'MEDIA.STOPPED' as const, at, gen: s.context.recording.stop.gen }]
      : []),
    ...TIMERS.flatMap(([id, type]) => {
      const gen = s.context.timers[id];
      return gen === undefined ? [] : [{ type, at, gen }];
    }),
  ];
}

const serializeState = (s: Snapshot) =>
  JSON.stringify([
    stateName(s),
    s.context.recording.persist,
    s.context.media.flowing,
    Object.keys(s.context.timers).sort(),
  ]);

/** Dotted ids of the machine's leaf states (the ones a call can rest in). */
const leafStates = getStateNodes(callMachine.root)
  .filter((n) => n.type === 'atomic' || n.type === 'final')
  .map((n) => n.path.join('.'))
  // transient decision states are left by an eventless transition at once
  .filter((id) => id !== 'incoming' && id !== 'live.ending.deciding');

describe('every state of the call machine is reachable and exercised', () => {
  const paths = getShortestPaths(callMachine, { events: eventsFor, serializeState });
  const byState = new Map<string, CallEvent[]>();
  for (const p of paths) {
    const name = stateName(p.state);
    const events = p.steps
      .map((s) => s.event)
      .filter((e): e is CallEvent => !e.type.startsWith('xstate.'));
    const known = byState.get(name);
    if (!known || known.length > events.length) byState.set(name, events);
  }

  it('reaches every leaf state', () => {
    expect([...byState.keys()].sort()).toEqual(expect.arrayContaining(leafStates.sort()));
  });

  it.each(leafStates)('replays the shortest path to %s', (target) => {
    const events = byState.get(target);
    expect(events, `no path reaches ${target}`).toBeDefined();
    let [s] = initialTransition(callMachine);
    for (const e of events!) s = transition(callMachine, s, e)[0];
    expect(stateName(s)).toBe(target);
  });
});
