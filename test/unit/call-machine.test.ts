import { describe, expect, it } from 'vitest';
import { createActor, initialTransition, transition } from 'xstate';
import { callMachine, endNoticeWaitMs, type CallEvent } from '../../machines/call.js';
import { stateName } from '../../src/calls/runtime.js';
import { incoming, participant, SETTINGS } from '../helpers/call-events.js';

const T0 = 1_700_000_000_000;
type Snapshot = ReturnType<typeof initialTransition<typeof callMachine>>[0];

function run(events: CallEvent[], from?: Snapshot) {
  let snapshot = from ?? initialTransition(callMachine)[0];
  const actions: Array<{ type: string; params?: unknown }> = [];
  for (const event of events) {
    const [next, acts] = transition(callMachine, snapshot, event);
    actions.push(...acts.map((a) => ({ type: a.type, params: a.params })));
    snapshot = next;
  }
  return { snapshot, actions, name: stateName(snapshot) };
}

const timerGen = (s: Snapshot, id: 'answerDeadline' | 'keepAlive' | 'mediaArrival' | 'mediaStop') =>
  s.context.timers[id]!;
const answered = () =>
  run([incoming('c1', T0), { type: 'GRAPH.ANSWER_ACCEPTED', at: T0 + 40, attempts: 1 }]).snapshot;
const established = () =>
  run(
    [
      { type: 'CALL.ESTABLISHING', at: T0 + 60 },
      { type: 'CALL.ESTABLISHED', at: T0 + 90 },
    ],
    answered(),
  ).snapshot;
const recording = () => {
  const s = run([{ type: 'MEDIA.FLOWING', at: T0 + 100 }], established()).snapshot;
  return run(
    [
      {
        type: 'GRAPH.RECORDING_STATUS_OK',
        at: T0 + 150,
        recordingStatus: 'recording',
        attempts: 1,
      },
    ],
    s,
  ).snapshot;
};

describe('call machine: answering', () => {
  it('answers an invite: asks for graph.answer and arms the answer-deadline timer', () => {
    const { snapshot, actions } = run([incoming('c1', T0)]);
    expect(snapshot.value).toBe('answering');
    expect(actions.find((a) => a.type === 'graph.answer')?.params).toMatchObject({
      callId: 'c1',
      tenantId: 't1',
      deadlineAt: T0 + 5000,
    });
    expect(actions.find((a) => a.type === 'timer.start')?.params).toMatchObject({
      timerId: 'answerDeadline',
      fireAt: T0 + 5000,
      event: 'TIMER.ANSWER_DEADLINE',
    });
    expect(snapshot.context.trail.map(([s]) => s)).toEqual(['incoming', 'answering']);
  });

  it('goes answering → answered → establishing → established → terminated, keeping the result', () => {
    const { snapshot } = run(
      [
        {
          type: 'CALL.TERMINATED',
          at: T0 + 900,
          resultInfo: { code: 200, subcode: 4097, message: 'bye' },
        },
      ],
      established(),
    );
    expect(snapshot.value).toBe('terminated');
    expect(snapshot.status).toBe('done');
    expect(snapshot.context.resultInfo?.subcode).toBe(4097);
    expect(snapshot.context.endedBy).toBe('remote');
    expect(snapshot.context.trail.map(([s]) => s)).toEqual([
      'incoming',
      'answering',
      'answered',
      'establishing',
      'established',
      'terminated',
    ]);
  });

  it('answering cancels the deadline and arms keep-alive once the call is live', () => {
    const s0 = run([incoming('c1', T0)]).snapshot;
    const { actions } = run([{ type: 'GRAPH.ANSWER_ACCEPTED', at: T0 + 40, attempts: 1 }], s0);
    expect(actions).toContainEqual({
      type: 'timer.cancel',
      params: { timerId: 'answerDeadline', gen: timerGen(s0, 'answerDeadline') },
    });
    expect(actions.find((a) => a.type === 'timer.start')?.params).toMatchObject({
      timerId: 'keepAlive',
      fireAt: T0 + 40 + 15 * 60_000,
    });
  });

  it('ends established when established arrives before establishing', () => {
    const { name } = run(
      [
        { type: 'CALL.ESTABLISHED', at: T0 + 60 },
        { type: 'CALL.ESTABLISHING', at: T0 + 61 },
      ],
      answered(),
    );
    expect(name).toBe('live.established.awaitingMedia');
  });

  it('accepts state notifications that overtake the answer result', () => {
    const { snapshot, name } = run([
      incoming('c1', T0),
      { type: 'CALL.ESTABLISHING', at: T0 + 30 },
      { type: 'GRAPH.ANSWER_ACCEPTED', at: T0 + 40, attempts: 2 },
      { type: 'CALL.ESTABLISHED', at: T0 + 60 },
    ]);
    expect(name).toBe('live.established.awaitingMedia');
    expect(snapshot.context.answerAttempts).toBe(2);
  });

  it('fails when the answer deadline passes first, and ignores a late acceptance', () => {
    const s0 = run([incoming('c1', T0)]).snapshot;
    const { snapshot } = run(
      [
        { type: 'TIMER.ANSWER_DEADLINE', at: T0 + 5000, gen: timerGen(s0, 'answerDeadline') },
        { type: 'GRAPH.ANSWER_ACCEPTED', at: T0 + 5100, attempts: 3 },
      ],
      s0,
    );
    expect(snapshot.value).toBe('failed');
    expect(snapshot.context.failure?.reason).toBe('answer-deadline-missed');
    expect(snapshot.context.answeredAt).toBeUndefined();
  });

  it('ignores a timer of another generation', () => {
    const s0 = run([incoming('c1', T0)]).snapshot;
    const stale = {
      type: 'TIMER.ANSWER_DEADLINE' as const,
      at: T0 + 5000,
      gen: timerGen(s0, 'answerDeadline') + 7,
    };
    expect(transition(callMachine, s0, stale)[0]).toBe(s0);
    const s1 = answered();
    expect(transition(callMachine, s1, { ...stale, gen: timerGen(s0, 'answerDeadline') })[0]).toBe(
      s1,
    );
  });

  it('fails when Graph refuses the answer, and on 408/8544', () => {
    expect(
      run([
        incoming('c1', T0),
        {
          type: 'GRAPH.ANSWER_FAILED',
          at: T0 + 10,
          reason: 'Graph answered 403',
          httpStatus: 403,
          attempts: 1,
        },
      ]).snapshot.context.failure,
    ).toEqual({ reason: 'answer-refused', detail: 'Graph answered 403' });
    const { snapshot } = run([
      incoming('c1', T0),
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
    const { snapshot, actions } = run([
      incoming('c1', T0, { action: 'reject', reason: 'forbidden', rule: 'r' }),
    ]);
    expect(snapshot.value).toBe('rejecting');
    expect(actions.find((a) => a.type === 'graph.reject')?.params).toMatchObject({
      reason: 'forbidden',
    });
    expect(actions.some((a) => a.type === 'graph.answer')).toBe(false);
    expect(run([{ type: 'GRAPH.REJECT_ACCEPTED', at: T0 + 20 }], snapshot).snapshot.value).toBe(
      'rejected',
    );
  });

  it('ignores duplicates and everything after the end', () => {
    const s0 = established();
    expect(transition(callMachine, s0, { type: 'CALL.ESTABLISHED', at: T0 + 70 })[0]).toBe(s0);
    expect(transition(callMachine, s0, incoming('c1', T0))[0]).toBe(s0);
    const [done] = transition(callMachine, s0, { type: 'CALL.TERMINATED', at: T0 + 80 });
    for (const late of [
      incoming('c1', T0),
      { type: 'CALL.ESTABLISHING', at: T0 + 90 } as CallEvent,
    ]) {
      expect(transition(callMachine, done, late)[0]).toBe(done);
    }
  });
});

describe('call machine: recording status (docs/teams-protocol.md#recording-status)', () => {
  it('reports recording once media flows, and persists only after Graph confirmed it', () => {
    const s0 = established();
    const { snapshot: starting, actions } = run([{ type: 'MEDIA.FLOWING', at: T0 + 100 }], s0);
    expect(stateName(starting)).toBe('live.established.startingRecording');
    expect(starting.context.recording.persist).toBe(false);
    expect(actions.find((a) => a.type === 'graph.updateRecordingStatus')?.params).toMatchObject({
      recordingStatus: 'recording',
    });
    const s1 = recording();
    expect(stateName(s1)).toBe('live.established.recording');
    expect(s1.context.recording).toMatchObject({ persist: true, confirmedAt: T0 + 150 });
    expect(s1.context.recording.reports).toEqual([{ status: 'recording', at: T0 + 150, ok: true }]);
  });

  it('media that arrived before establishment starts recording right away', () => {
    const s0 = run([{ type: 'MEDIA.FLOWING', at: T0 + 50 }], answered()).snapshot;
    const { name } = run([{ type: 'CALL.ESTABLISHED', at: T0 + 90 }], s0);
    expect(name).toBe('live.established.startingRecording');
  });

  it('reports failed when recording cannot start, on a media fault, and when media never comes', () => {
    const starting = run([{ type: 'MEDIA.FLOWING', at: T0 + 100 }], established()).snapshot;
    const refused = run(
      [
        {
          type: 'GRAPH.RECORDING_STATUS_FAILED',
          at: T0 + 120,
          recordingStatus: 'recording',
          reason: '8506',
          httpStatus: 403,
          attempts: 1,
        },
      ],
      starting,
    );
    expect(refused.name).toBe('live.established.recordingFailed');
    expect(
      refused.actions.find((a) => a.type === 'graph.updateRecordingStatus')?.params,
    ).toMatchObject({ recordingStatus: 'failed' });

    const fault = run([{ type: 'MEDIA.FAULT', at: T0 + 200, reason: 'socket lost' }], recording());
    expect(fault.name).toBe('live.established.recordingFailed');
    expect(fault.snapshot.context.recording.persist).toBe(false);
    expect(
      fault.actions.find((a) => a.type === 'graph.updateRecordingStatus')?.params,
    ).toMatchObject({ recordingStatus: 'failed' });

    const waiting = established();
    const noMedia = run(
      [{ type: 'TIMER.MEDIA_ARRIVAL', at: T0 + 30_100, gen: timerGen(waiting, 'mediaArrival') }],
      waiting,
    );
    expect(noMedia.name).toBe('live.established.recordingFailed');
  });

  it('records again when media comes back after a fault', () => {
    const failed = run([{ type: 'MEDIA.FAULT', at: T0 + 200, reason: 'x' }], recording()).snapshot;
    expect(run([{ type: 'MEDIA.FLOWING', at: T0 + 300 }], failed).name).toBe(
      'live.established.startingRecording',
    );
  });

  it('a bot hang-up stops persisting, waits for the media stop, reports notRecording, then sends DELETE', () => {
    const stopping = run([{ type: 'CALL.HANGUP', at: T0 + 500, reason: 'operator' }], recording());
    expect(stopping.name).toBe('live.ending.stoppingMedia');
    expect(stopping.snapshot.context.recording.persist).toBe(false);
    const stop = stopping.snapshot.context.recording.stop!;
    expect(stop).toEqual({ gen: expect.any(Number) as unknown, at: T0 + 500 });
    // nothing is reported while the media process may still be writing
    expect(stopping.actions.some((a) => a.type === 'graph.updateRecordingStatus')).toBe(false);
    expect(stopping.actions.find((a) => a.type === 'timer.start')?.params).toMatchObject({
      timerId: 'mediaStop',
      fireAt: T0 + 500 + 3000,
    });
    // a confirmation of another stop is not this one
    const stale = { type: 'MEDIA.STOPPED' as const, at: T0 + 510, gen: stop.gen - 1 };
    expect(transition(callMachine, stopping.snapshot, stale)[0]).toBe(stopping.snapshot);
    const { snapshot, actions } = run(
      [{ type: 'MEDIA.STOPPED', at: T0 + 520, gen: stop.gen }],
      stopping.snapshot,
    );
    expect(stateName(snapshot)).toBe('live.ending.reportingStopped');
    expect(snapshot.context.recording.stop?.confirmedAt).toBe(T0 + 520);
    expect(actions.find((a) => a.type === 'graph.updateRecordingStatus')?.params).toMatchObject({
      recordingStatus: 'notRecording',
    });
    expect(actions.find((a) => a.type === 'timer.cancel')?.params).toMatchObject({
      timerId: 'mediaStop',
    });
    expect(actions.some((a) => a.type === 'graph.hangUp')).toBe(false);
    const next = run(
      [
        {
          type: 'GRAPH.RECORDING_STATUS_OK',
          at: T0 + 550,
          recordingStatus: 'notRecording',
          attempts: 1,
        },
      ],
      snapshot,
    );
    expect(next.name).toBe('live.ending.hangingUp');
    expect(next.actions.some((a) => a.type === 'graph.hangUp')).toBe(true);
    const end = run(
      [
        {
          type: 'CALL.TERMINATED',
          at: T0 + 600,
          resultInfo: { code: 200, subcode: 7000, message: 'bot' },
        },
      ],
      next.snapshot,
    );
    expect(end.snapshot.value).toBe('terminated');
    expect(end.snapshot.context.endedBy).toBe('bot');
  });

  it('a stop the media process never confirms is reported failed, never notRecording', () => {
    const stopping = run([{ type: 'CALL.HANGUP', at: T0 + 500, reason: 'operator' }], recording());
    const gen = stopping.snapshot.context.timers.mediaStop!;
    const { name, actions, snapshot } = run(
      [{ type: 'TIMER.MEDIA_STOP', at: T0 + 3500, gen }],
      stopping.snapshot,
    );
    expect(name).toBe('live.ending.reportingUnconfirmed');
    const reports = actions.filter((a) => a.type === 'graph.updateRecordingStatus');
    expect(reports.map((a) => (a.params as { recordingStatus: string }).recordingStatus)).toEqual([
      'failed',
    ]);
    const done = run(
      [
        {
          type: 'GRAPH.RECORDING_STATUS_OK',
          at: T0 + 3600,
          recordingStatus: 'failed',
          attempts: 1,
        },
      ],
      snapshot,
    );
    expect(done.name).toBe('live.ending.hangingUp');
    expect(done.snapshot.context.recording.stop?.confirmedAt).toBeUndefined();
  });

  it('the end of the media session confirms a stop; without a session nothing is awaited', () => {
    const stopping = run([{ type: 'CALL.HANGUP', at: T0 + 500, reason: 'operator' }], recording());
    expect(run([{ type: 'MEDIA.ENDED', at: T0 + 510 }], stopping.snapshot).name).toBe(
      'live.ending.reportingStopped',
    );
    const fault = { type: 'MEDIA.FAULT' as const, at: T0 + 510, reason: 'disk full' };
    expect(run([fault], stopping.snapshot).name).toBe('live.ending.reportingStopped');
    // media lost: a resumed session may still write, so the stop still waits
    const lost = run([{ type: 'MEDIA.LOST', at: T0 + 400, reason: 'x' }], recording()).snapshot;
    const hangup = { type: 'CALL.HANGUP' as const, at: T0 + 500, reason: 'operator' };
    expect(run([hangup], lost).name).toBe('live.ending.stoppingMedia');
    const ended = run([{ type: 'MEDIA.ENDED', at: T0 + 400 }], recording()).snapshot;
    expect(run([hangup], ended).name).toBe('live.ending.reportingStopped');
  });

  it('a call the platform ends stops persisting with the end notification', () => {
    const end = {
      type: 'CALL.TERMINATED' as const,
      at: T0 + 500,
      resultInfo: { code: 200, subcode: 4097, message: 'remote' },
    };
    const { snapshot, actions } = run([end], recording());
    expect(snapshot.value).toBe('terminated');
    expect(snapshot.context.recording.persist).toBe(false);
    // Graph has no call left to report to
    expect(actions.some((a) => a.type === 'graph.updateRecordingStatus')).toBe(false);
  });

  it('a bot hang-up without recording goes straight to DELETE', () => {
    const { name, actions } = run(
      [{ type: 'CALL.HANGUP', at: T0 + 500, reason: 'operator' }],
      established(),
    );
    expect(name).toBe('live.ending.hangingUp');
    expect(actions.some((a) => a.type === 'graph.updateRecordingStatus')).toBe(false);
  });

  it('a keep-alive 404 while the bot hangs up waits for the end notification and its code', () => {
    const hangingUp = run(
      [{ type: 'CALL.HANGUP', at: T0 + 500, reason: 'operator' }],
      established(),
    ).snapshot;
    const gone = { type: 'GRAPH.KEEPALIVE_FAILED' as const, reason: '8522', httpStatus: 404 };
    // the keep-alive overtook the end notification of the bot's own DELETE
    const first = run([{ ...gone, at: T0 + 600 }], hangingUp);
    expect(first.name).toBe('live.ending.hangingUp');
    const ended = run(
      [
        {
          type: 'CALL.TERMINATED',
          at: T0 + 700,
          resultInfo: { code: 200, subcode: 7000, message: 'bye' },
        },
      ],
      first.snapshot,
    );
    expect(ended.name).toBe('terminated');
    expect(ended.snapshot.context).toMatchObject({
      endedBy: 'bot',
      resultInfo: { code: 200, subcode: 7000 },
    });
    // no end notification ever came: the second 404 ends it, still as the bot's
    const again = run([{ ...gone, at: T0 + 900_700 }], first.snapshot);
    expect(again.name).toBe('terminated');
    expect(again.snapshot.context.endedBy).toBe('bot');
  });
});

describe('call machine: media connection events', () => {
  it('a lost connection keeps the recording state; the fault after the window reports failed', () => {
    const lost = run(
      [{ type: 'MEDIA.LOST', at: T0 + 300, reason: 'connection lost' }],
      recording(),
    );
    expect(lost.name).toBe('live.established.recording');
    expect(lost.snapshot.context.media).toMatchObject({ flowing: false, lost: T0 + 300 });
    expect(lost.actions.filter((a) => a.type.startsWith('graph.'))).toEqual([]);
    const resumed = run([{ type: 'MEDIA.FLOWING', at: T0 + 400 }], lost.snapshot);
    expect(resumed.name).toBe('live.established.recording');
    expect(resumed.snapshot.context.media.flowing).toBe(true);
    const gone = run(
      [{ type: 'MEDIA.FAULT', at: T0 + 10_300, reason: 'window passed' }],
      lost.snapshot,
    );
    expect(gone.name).toBe('live.established.recordingFailed');
    expect(gone.snapshot.context.recording.persist).toBe(false);
  });

  it('repeated connection events change nothing', () => {
    const s0 = run([{ type: 'MEDIA.CONNECTED', at: T0 + 95 }], established()).snapshot;
    expect(s0.context.media.connected).toBe(true);
    expect(transition(callMachine, s0, { type: 'MEDIA.CONNECTED', at: T0 + 96 })[0]).toBe(s0);
    const s1 = recording();
    expect(transition(callMachine, s1, { type: 'MEDIA.FLOWING', at: T0 + 500 })[0]).toBe(s1);
    const ended = run([{ type: 'MEDIA.ENDED', at: T0 + 600 }], s1).snapshot;
    expect(transition(callMachine, ended, { type: 'MEDIA.ENDED', at: T0 + 601 })[0]).toBe(ended);
  });
});

describe('call machine: keep-alive and roster', () => {
  it('sends keepAlive when the timer is due and re-arms it; a second 404 ends the call', () => {
    const s0 = established();
    const due = run(
      [{ type: 'TIMER.KEEPALIVE_DUE', at: T0 + 900_000, gen: timerGen(s0, 'keepAlive') }],
      s0,
    );
    expect(due.actions.map((a) => a.type)).toEqual(['graph.keepAlive', 'timer.start']);
    expect(due.snapshot.context.keepAlive.sent).toBe(1);
    expect(timerGen(due.snapshot, 'keepAlive')).toBeGreaterThan(timerGen(s0, 'keepAlive'));
    const first = run(
      [{ type: 'GRAPH.KEEPALIVE_FAILED', at: T0 + 900_100, reason: '8522', httpStatus: 404 }],
      due.snapshot,
    );
    // the end notification may still be on its way: wait for it (keep-alive still armed)
    expect(first.snapshot.value).toEqual({ live: 'terminating' });
    const cancelled = first.actions.filter(
      (a) =>
        a.type === 'timer.cancel' && (a.params as { timerId?: string }).timerId === 'keepAlive',
    );
    expect(cancelled).toEqual([]);
    const again = run(
      [
        {
          type: 'TIMER.KEEPALIVE_DUE',
          at: T0 + 1_800_000,
          gen: timerGen(first.snapshot, 'keepAlive'),
        },
      ],
      first.snapshot,
    );
    const gone = run(
      [{ type: 'GRAPH.KEEPALIVE_FAILED', at: T0 + 1_800_100, reason: '8522', httpStatus: 404 }],
      again.snapshot,
    );
    expect(gone.snapshot.value).toBe('terminated');
    expect(gone.snapshot.context.endedBy).toBe('platform');
    expect(gone.actions).toContainEqual({
      type: 'timer.cancel',
      params: { timerId: 'keepAlive', gen: timerGen(again.snapshot, 'keepAlive') },
    });
  });

  it.each([
    ['15 min: 30 s', SETTINGS.keepAliveIntervalMs, 30_000],
    ['2 s: three intervals', 2000, 6000],
  ] as const)(
    'a 404 soon after the first waits on for the end notification (keep-alive every %s)',
    (_, keepAliveIntervalMs, wait) => {
      expect(endNoticeWaitMs({ ...SETTINGS, keepAliveIntervalMs })).toBe(wait);
      const s0 = run([
        incoming('c1', T0, { action: 'answer' }, { ...SETTINGS, keepAliveIntervalMs }),
        { type: 'GRAPH.ANSWER_ACCEPTED', at: T0 + 40, attempts: 1 },
        { type: 'CALL.ESTABLISHING', at: T0 + 60 },
        { type: 'CALL.ESTABLISHED', at: T0 + 90 },
      ]).snapshot;
      const gone = { type: 'GRAPH.KEEPALIVE_FAILED' as const, reason: '8522', httpStatus: 404 };
      const first = run([{ ...gone, at: T0 + 1000 }], s0).snapshot;
      expect(first.value).toEqual({ live: 'terminating' });
      // a keep-alive sent again soon (a retry, a short interval): the end notification, late
      // because its delivery was retried, may still come
      const soon = run([{ ...gone, at: T0 + 1000 + wait - 1 }], first);
      expect(soon.snapshot.value).toEqual({ live: 'terminating' });
      const late = run(
        [
          {
            type: 'CALL.TERMINATED',
            at: T0 + 1000 + wait - 1,
            resultInfo: { code: 200, subcode: 5002, message: 'bye' },
          },
        ],
        soon.snapshot,
      );
      expect(late.snapshot.context.resultInfo).toMatchObject({ code: 200, subcode: 5002 });
      // it did not come: the first 404 once the wait is over ends the call
      const over = run([{ ...gone, at: T0 + 1000 + wait }], soon.snapshot);
      expect(over.name).toBe('terminated');
      expect(over.snapshot.context.endedBy).toBe('platform');
    },
  );

  it.each([
    ['established', []],
    ['terminating', [{ type: 'CALL.TERMINATING', at: T0 + 50 }]],
  ] as const)(
    'keeps the result code when the end arrives after a keep-alive 404 (%s)',
    (_, before) => {
      const s0 = established();
      const gone = run(
        [
          ...before,
          { type: 'GRAPH.KEEPALIVE_FAILED', at: T0 + 100, reason: '8522', httpStatus: 404 },
          {
            type: 'CALL.TERMINATED',
            at: T0 + 200,
            resultInfo: { code: 200, subcode: 5002, message: 'meeting ended' },
          },
        ],
        s0,
      );
      expect(gone.snapshot.value).toBe('terminated');
      expect(gone.snapshot.context.resultInfo).toEqual({
        code: 200,
        subcode: 5002,
        message: 'meeting ended',
      });
    },
  );

  it('keeps participants, their sources and flags; ignores older roster updates', () => {
    const s0 = established();
    const full = run(
      [
        {
          type: 'CALL.ROSTER',
          at: T0 + 100,
          update: {
            mode: 'full',
            participants: [participant('a', 2), participant('b', 3, { muted: true })],
          },
        },
      ],
      s0,
    ).snapshot;
    expect(Object.keys(full.context.roster.participants)).toEqual(['a', 'b']);
    expect(full.context.roster.sources).toEqual({
      [participant('a', 2).sources.audio!]: 'a',
      [participant('b', 3).sources.audio!]: 'b',
    });
    const stale = {
      type: 'CALL.ROSTER' as const,
      at: T0 + 110,
      update: { mode: 'full' as const, participants: [participant('a', 1)] },
    };
    expect(transition(callMachine, full, stale)[0]).toBe(full);
    const left = run(
      [
        {
          type: 'CALL.ROSTER',
          at: T0 + 120,
          update: { mode: 'removed', participants: [participant('b', 4)] },
        },
      ],
      full,
    );
    expect(Object.keys(left.snapshot.context.roster.participants)).toEqual(['a']);
    const same = {
      type: 'CALL.ROSTER' as const,
      at: T0 + 130,
      update: { mode: 'delta' as const, participants: [participant('a', 2)] },
    };
    expect(transition(callMachine, left.snapshot, same)[0]).toBe(left.snapshot);
  });
});

it('round-trips through JSON at every step', () => {
  let [s] = initialTransition(callMachine);
  const events: CallEvent[] = [
    incoming('c1', T0),
    { type: 'CALL.ESTABLISHING', at: T0 + 30 },
    { type: 'GRAPH.ANSWER_ACCEPTED', at: T0 + 40, attempts: 1 },
    { type: 'CALL.ESTABLISHED', at: T0 + 60 },
    { type: 'MEDIA.FLOWING', at: T0 + 70 },
    { type: 'GRAPH.RECORDING_STATUS_OK', at: T0 + 80, recordingStatus: 'recording', attempts: 1 },
    { type: 'CALL.HANGUP', at: T0 + 90, reason: 'x' },
    { type: 'MEDIA.STOPPED', at: T0 + 95, gen: 6 }, // the stop's generation
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
  expect(stateName(s)).toBe('live.ending.reportingStopped');
});
