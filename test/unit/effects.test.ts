/**
 * The effect contract in memory: every effect the machine emits becomes exactly one job record
 * through the table in src/calls/effects.ts, with an id that is the same however often the
 * transition is replayed. `EXPECTED` is typed by the machine's effects, so a new effect does not
 * compile until it has a row here.
 */
import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { callMachine, type CallEvent, type EffectType } from '../../machines/call.js';
import { toEffectRecords, type ReturnedAction } from '../../src/calls/effects.js';
import type { EffectRecord } from '../../src/queues/jobs.js';
import { incoming, SETTINGS } from '../helpers/call-events.js';

const T0 = 1_700_000_000_000;
const ANSWERED = T0 + 40;
const FLOWING = T0 + 100;
const KEEPALIVE_DUE = ANSWERED + SETTINGS.keepAliveIntervalMs;

/** Each transition's actions, in order. */
function walk(events: CallEvent[]): ReturnedAction[][] {
  let snapshot = initialTransition(callMachine)[0];
  return events.map((event) => {
    const [next, actions] = transition(callMachine, snapshot, event);
    snapshot = next;
    return actions.map((a) => ({ type: a.type, params: a.params }));
  });
}

// answer, arm and cancel timers, report recording, keep alive, hang up
const answeredCall: CallEvent[] = [
  incoming('c1', T0),
  { type: 'GRAPH.ANSWER_ACCEPTED', at: ANSWERED, attempts: 1 },
  { type: 'CALL.ESTABLISHED', at: T0 + 90 },
  { type: 'MEDIA.FLOWING', at: FLOWING },
  { type: 'TIMER.KEEPALIVE_DUE', at: KEEPALIVE_DUE, gen: 3 },
  { type: 'CALL.HANGUP', at: KEEPALIVE_DUE + 10, reason: 'operator' },
];
const rejectedCall: CallEvent[] = [
  incoming('c2', T0, { action: 'reject', reason: 'busy', rule: 'r1' }),
];

const EXPECTED: { [K in EffectType]: EffectRecord } = {
  'graph.answer': {
    queue: 'graph',
    name: 'answer',
    jobId: 'c1-answer-g1',
    data: { op: 'answer', callId: 'c1', tenantId: 't1', deadlineAt: T0 + 5000 },
  },
  'graph.reject': {
    queue: 'graph',
    name: 'reject',
    jobId: 'c2-reject-g1',
    data: { op: 'reject', callId: 'c2', tenantId: 't1', deadlineAt: T0 + 5000, reason: 'busy' },
  },
  'graph.updateRecordingStatus': {
    queue: 'graph',
    name: 'updateRecordingStatus',
    jobId: 'c1-recording-recording-g5',
    data: {
      op: 'updateRecordingStatus',
      callId: 'c1',
      tenantId: 't1',
      deadlineAt: FLOWING + SETTINGS.effectBudgetMs,
      recordingStatus: 'recording',
      clientContext: 'c1-recording-5',
    },
  },
  'graph.keepAlive': {
    queue: 'graph',
    name: 'keepAlive',
    jobId: 'c1-keepAlive-g6',
    data: {
      op: 'keepAlive',
      callId: 'c1',
      tenantId: 't1',
      deadlineAt: KEEPALIVE_DUE + SETTINGS.keepAliveIntervalMs,
    },
  },
  'graph.hangUp': {
    queue: 'graph',
    name: 'hangUp',
    jobId: 'c1-hangUp-g8',
    data: {
      op: 'hangUp',
      callId: 'c1',
      tenantId: 't1',
      deadlineAt: KEEPALIVE_DUE + 10 + SETTINGS.effectBudgetMs,
    },
  },
  'timer.start': {
    queue: 'timers',
    name: 'answerDeadline',
    jobId: 'c1-answerDeadline-g2',
    data: { callId: 'c1', timerId: 'answerDeadline', event: 'TIMER.ANSWER_DEADLINE', gen: 2 },
    fireAt: T0 + 5000,
  },
  'timer.cancel': {
    queue: 'timers',
    name: 'cancel',
    jobId: 'c1-answerDeadline-g2',
    callId: 'c1',
    marked: true,
  },
};

describe('effects → jobs', () => {
  const steps = [...walk(answeredCall), ...walk(rejectedCall)];
  const callOf = (i: number) => (i < answeredCall.length ? 'c1' : 'c2');
  const records = steps.flatMap((actions, i) => toEffectRecords(callOf(i), actions));

  it.each(Object.entries(EXPECTED))('%s becomes its job', (_type, record) => {
    expect(records).toContainEqual(record);
  });

  it('makes one record per effect and none for anything else', () => {
    const actions = steps.flat();
    expect(new Set(actions.map((a) => a.type))).toEqual(new Set(Object.keys(EXPECTED)));
    expect(records).toHaveLength(actions.length);
    const other = [
      { type: 'enterState', params: { state: 'live' } },
      { type: 'xstate.raise', params: { event: { type: 'X' } } },
      { type: 'toString' },
    ];
    expect(toEffectRecords('c1', other)).toEqual([]);
  });

  it('gives a replayed transition the same job ids, and every effect its own', () => {
    const again = walk(answeredCall).flatMap((actions) => toEffectRecords('c1', actions));
    const ids = (rs: EffectRecord[]) => rs.map((r) => `${r.queue}/${r.name}/${r.jobId}`);
    expect(ids(again)).toEqual(ids(records.slice(0, again.length)));
    const starts = again.filter((r) => r.queue === 'graph' || r.name !== 'cancel');
    expect(new Set(starts.map((r) => r.jobId)).size).toBe(starts.length);
  });
});
