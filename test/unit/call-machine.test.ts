import { describe, expect, it } from 'vitest';
import { createActor, initialTransition, transition } from 'xstate';
import { callMachine, type CallEvent, type Verdict } from '../../machines/call.js';

const T0 = 1_700_000_000_000;
const invite = (verdict: Verdict = { action: 'answer' }): CallEvent => ({
  type: 'CALL.INCOMING',
  at: T0,
  deadlineAt: T0 + 5000,
  invite: { callId: 'c1', tenantId: 't1', kind: 'p2p' },
  verdict,
});

function run(events: CallEvent[]) {
  let [snapshot] = initialTransition(callMachine);
  const actions: string[] = [];
  for (const event of events) {
    const [next, acts] = transition(callMachine, snapshot, event);
    actions.push(...acts.map((a) => a.type));
    snapshot = next;
  }
  return { snapshot, actions };
}

describe('call machine', () => {
  it('answers an invite: asks for graph.answer and the answer-deadline timer', () => {
    let [s] = initialTransition(callMachine);
    const [next, actions] = transition(callMachine, s, invite());
    s = next;
    expect(s.value).toBe('answering');
    const answer = actions.find((a) => a.type === 'graph.answer');
    expect(answer?.params).toEqual({ callId: 'c1', tenantId: 't1', deadlineAt: T0 + 5000 });
    const timer = actions.find((a) => a.type === 'timer.start');
    expect(timer?.params).toEqual({
      timerId: 'answerDeadline',
      fireAt: T0 + 5000,
      event: 'TIMER.ANSWER_DEADLINE',
    });
    expect(s.context.trail.map(([state]) => state)).toEqual(['incoming', 'answering']);
  });

  it('goes incoming → answering → answered → establishing → established → terminated', () => {
    const { snapshot } = run([
      invite(),
      { type: 'GRAPH.ANSWER_ACCEPTED', at: T0 + 40, attempts: 1 },
      { type: 'CALL.ESTABLISHING', at: T0 + 60 },
      { type: 'CALL.ESTABLISHED', at: T0 + 90 },
      {
        type: 'CALL.TERMINATED',
        at: T0 + 900,
        resultInfo: { code: 200, subcode: 4097, message: 'bye' },
      },
    ]);
    expect(snapshot.value).toBe('terminated');
    expect(snapshot.status).toBe('done');
    expect(snapshot.context.answeredAt).toBe(T0 + 40);
    expect(snapshot.context.resultInfo?.subcode).toBe(4097);
    expect(snapshot.context.trail.map(([s]) => s)).toEqual([
      'incoming',
      'answering',
      'answered',
      'establishing',
      'established',
      'terminated',
    ]);
  });

  it('ends established when established arrives before establishing', () => {
    const { snapshot } = run([
      invite(),
      { type: 'GRAPH.ANSWER_ACCEPTED', at: T0 + 40, attempts: 1 },
      { type: 'CALL.ESTABLISHED', at: T0 + 60 },
      { type: 'CALL.ESTABLISHING', at: T0 + 61 },
    ]);
    expect(snapshot.value).toBe('established');
  });

  it('accepts state notifications that overtake the answer result', () => {
    const { snapshot } = run([
      invite(),
      { type: 'CALL.ESTABLISHING', at: T0 + 30 },
      { type: 'GRAPH.ANSWER_ACCEPTED', at: T0 + 40, attempts: 2 },
      { type: 'CALL.ESTABLISHED', at: T0 + 60 },
    ]);
    expect(snapshot.value).toBe('established');
    expect(snapshot.context.answerAttempts).toBe(2);
  });

  it('fails when the answer deadline passes first, and ignores a late acceptance', () => {
    const { snapshot } = run([
      invite(),
      { type: 'TIMER.ANSWER_DEADLINE', at: T0 + 5000 },
      { type: 'GRAPH.ANSWER_ACCEPTED', at: T0 + 5100, attempts: 3 },
    ]);
    expect(snapshot.value).toBe('failed');
    expect(snapshot.context.failure?.reason).toBe('answer-deadline-missed');
    expect(snapshot.context.answeredAt).toBeUndefined();
  });

  it('ignores the answer deadline once the answer was accepted', () => {
    const s0 = run([
      invite(),
      { type: 'GRAPH.ANSWER_ACCEPTED', at: T0 + 40, attempts: 1 },
    ]).snapshot;
    const [s1, actions] = transition(callMachine, s0, {
      type: 'TIMER.ANSWER_DEADLINE',
      at: T0 + 5000,
    });
    expect(s1).toBe(s0);
    expect(actions).toHaveLength(0);
  });

  it('fails when Graph refuses the answer', () => {
    const { snapshot } = run([
      invite(),
      {
        type: 'GRAPH.ANSWER_FAILED',
        at: T0 + 10,
        reason: 'Graph answered 403',
        status: 403,
        attempts: 1,
      },
    ]);
    expect(snapshot.value).toBe('failed');
    expect(snapshot.context.failure).toEqual({
      reason: 'answer-refused',
      detail: 'Graph answered 403',
    });
  });

  it('treats a 408/8544 termination during answering as a missed deadline', () => {
    const { snapshot } = run([
      invite(),
      {
        type: 'CALL.TERMINATED',
        at: T0 + 5001,
        resultInfo: { code: 408, subcode: 8544, message: 'Callee could not be reached.' },
      },
    ]);
    expect(snapshot.value).toBe('failed');
    expect(snapshot.context.failure?.reason).toBe('answer-deadline-missed');
  });

  it('rejects per the verdict with its reason', () => {
    const s0 = initialTransition(callMachine)[0];
    const [s1, actions] = transition(
      callMachine,
      s0,
      invite({ action: 'reject', reason: 'forbidden', rule: 'r' }),
    );
    expect(s1.value).toBe('rejecting');
    expect(actions.find((a) => a.type === 'graph.reject')?.params).toMatchObject({
      reason: 'forbidden',
    });
    expect(actions.some((a) => a.type === 'graph.answer')).toBe(false);
    const [s2] = transition(callMachine, s1, { type: 'GRAPH.REJECT_ACCEPTED', at: T0 + 20 });
    expect(s2.value).toBe('rejected');
  });

  it('ignores duplicates and everything after the end', () => {
    const s0 = run([
      invite(),
      { type: 'GRAPH.ANSWER_ACCEPTED', at: T0 + 40, attempts: 1 },
      { type: 'CALL.ESTABLISHED', at: T0 + 60 },
    ]).snapshot;
    expect(transition(callMachine, s0, { type: 'CALL.ESTABLISHED', at: T0 + 70 })[0]).toBe(s0);
    expect(transition(callMachine, s0, invite())[0]).toBe(s0);
    const [done] = transition(callMachine, s0, { type: 'CALL.TERMINATED', at: T0 + 80 });
    for (const late of [invite(), { type: 'CALL.ESTABLISHING', at: T0 + 90 } as CallEvent]) {
      expect(transition(callMachine, done, late)[0]).toBe(done);
    }
  });

  it('round-trips through JSON at every step', () => {
    let [s] = initialTransition(callMachine);
    const events: CallEvent[] = [
      invite(),
      { type: 'CALL.ESTABLISHING', at: T0 + 30 },
      { type: 'GRAPH.ANSWER_ACCEPTED', at: T0 + 40, attempts: 1 },
      { type: 'CALL.ESTABLISHED', at: T0 + 60 },
    ];
    for (const event of events) {
      const json = JSON.parse(JSON.stringify(callMachine.getPersistedSnapshot(s))) as typeof s;
      const restored = createActor(callMachine, { snapshot: json }).getSnapshot();
      const [a] = transition(callMachine, restored, event);
      const [b] = transition(callMachine, s, event);
      expect(a.value).toEqual(b.value);
      expect(a.context).toEqual(b.context);
      s = b;
    }
    expect(s.value).toBe('established');
  });
});
