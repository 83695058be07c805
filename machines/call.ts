/**
 * The call machine: decides everything about one compliance-recording call, and does nothing.
 *
 * idle ─CALL.INCOMING→ incoming ─(verdict)→ answering ──────────────→ live
 *                               └────────→ rejecting → rejected
 * live: answered → establishing → established{awaitingMedia → startingRecording → recording
 *                                             ↘ recordingFailed ↗ (media back)}
 *       → terminating; ending{stoppingMedia → reportingStopped → hangingUp} when the bot hangs up
 * answering ─deadline | Graph refused | 408/8544→ failed;  live ─CALL.TERMINATED→ terminated
 *
 * Effects are named actions with params (`CallEffect`: `graph.<op>`, `timer.start`,
 * `timer.cancel`), enqueued through `setup().enqueueActions` so each name is checked against its
 * params (an enqueue inside `setup({ actions })` cannot see its sibling actions' types,
 * statelyai/xstate#4820); the runtime turns them into durable jobs after the commit, results
 * come back as events. No `after` or
 * `invoke`: they would not survive a process boundary (delayed events are not persisted,
 * statelyai/xstate#5331, and a restored promise actor runs again). Timers carry a
 * generation; a timer event of another generation than the armed one is stale and ignored.
 * Media may be persisted only while `context.recording.persist` is true: set when Graph
 * confirmed `recording`, cleared on any media fault and when the bot ends the call. `notRecording`
 * is reported only once the media session confirmed the stop (MEDIA.STOPPED of the stop's
 * generation, or the session's end); unconfirmed within `mediaStopTimeoutMs`, the call reports
 * `failed` instead (docs/media-protocol.md, "Stopping"). Unhandled events leave the snapshot
 * untouched: late and duplicate notifications are no-ops.
 */
import { and, assign, setup, stateIn } from 'xstate';
import type {
  CallContext,
  CallEffect,
  CallEvent,
  CallSettings,
  EffectParams,
  EffectType,
  RecordingStatus,
  TimerEventType,
  TimerId,
} from './call-types.js';
import { applyRoster, EMPTY_ROSTER } from './roster.js';

export type * from './call-types.js';

/** Bump when a change makes stored snapshots unreadable; the store refuses other versions. */
export const CALL_MACHINE_VERSION = 4;

const TRAIL_MAX = 40;
/** The stop confirmation wait of a call stored before `mediaStopTimeoutMs` existed. */
const MEDIA_STOP_FALLBACK_MS = 5000;
const REPORTS_MAX = 20;
/**
 * After a keep-alive's first 404 the call waits this long for the end notification that says
 * how the call ended (a delivery may be retried, or held up by a replica that died) before a
 * later 404 ends it without one: 30 s, or three keep-alive intervals when those are shorter.
 * At the production interval of 15 min the next keep-alive is always later than this.
 */
const END_NOTICE_WAIT_MS = 30_000;
export const endNoticeWaitMs = (settings: CallSettings | undefined): number =>
  Math.min(END_NOTICE_WAIT_MS, 3 * (settings?.keepAliveIntervalMs ?? END_NOTICE_WAIT_MS));
const TIMER_EVENT: Record<TimerId, TimerEventType> = {
  answerDeadline: 'TIMER.ANSWER_DEADLINE',
  keepAlive: 'TIMER.KEEPALIVE_DUE',
  mediaArrival: 'TIMER.MEDIA_ARRIVAL',
  mediaStop: 'TIMER.MEDIA_STOP',
};
const TIMER_OF: Record<TimerEventType, TimerId> = {
  'TIMER.ANSWER_DEADLINE': 'answerDeadline',
  'TIMER.KEEPALIVE_DUE': 'keepAlive',
  'TIMER.MEDIA_ARRIVAL': 'mediaArrival',
  'TIMER.MEDIA_STOP': 'mediaStop',
};
const isTimerId = (key: string): key is TimerId => key in TIMER_EVENT;

const enter = (state: string) => ({ type: 'enterState' as const, params: { state } });
const nextRoster = (context: CallContext, event: Extract<CallEvent, { type: 'CALL.ROSTER' }>) =>
  applyRoster(context.roster, event.update, event.at, context.settings?.rosterMaxParticipants);

/**
 * The effects, declared as actions so that `enqueue` checks each name against its params. They
 * do nothing here: src/calls/effects.ts turns the actions a transition returns into jobs.
 */
const declared = () => undefined;
const EFFECTS: { [K in EffectType]: (_: unknown, params: EffectParams[K]) => void } = {
  'graph.answer': declared,
  'graph.reject': declared,
  'graph.updateRecordingStatus': declared,
  'graph.keepAlive': declared,
  'graph.hangUp': declared,
  'timer.start': declared,
  'timer.cancel': declared,
};

const calls = setup({
  types: { context: {} as CallContext, events: {} as CallEvent },
  actions: {
    ...EFFECTS,
    enterState: assign(({ context, event }, params: { state: string }) => ({
      trail: [...context.trail, [params.state, event.at] as [string, number]].slice(-TRAIL_MAX),
    })),
    recordInvite: assign(({ event }) =>
      event.type === 'CALL.INCOMING'
        ? {
            invite: event.invite,
            settings: event.settings,
            receivedAt: event.at,
            deadlineAt: event.deadlineAt,
            verdict: event.verdict,
          }
        : {},
    ),
    recordAnswer: assign(({ event }) =>
      event.type === 'GRAPH.ANSWER_ACCEPTED'
        ? { answeredAt: event.at, answerAttempts: event.attempts }
        : {},
    ),
    recordEnd: assign(({ context, event }) => {
      const resultInfo = event.type === 'CALL.TERMINATED' ? event.resultInfo : undefined;
      // 408/8537 keep-alive expiry, 410/301005 media failure, 500/1005…: the platform ended it
      const byPlatform = resultInfo !== undefined && resultInfo.code >= 400;
      return {
        endedAt: event.at,
        endedBy: context.endedBy ?? (byPlatform ? ('platform' as const) : ('remote' as const)),
        ...(resultInfo ? { resultInfo } : {}),
        recording: { ...context.recording, persist: false },
      };
    }),
    mediaUp: assign(({ context }) => ({
      media: { ...context.media, connected: true, flowing: true, lost: undefined },
    })),
    mediaDown: assign(({ context, event }) => ({
      media: {
        ...context.media,
        flowing: false,
        ...(event.type === 'MEDIA.FAULT' ? { lastFault: event.reason } : {}),
        ...(event.type === 'MEDIA.LOST' ? { lost: event.at } : {}),
        ...(event.type === 'MEDIA.ENDED' ? { connected: false } : {}),
      },
    })),
    mediaConnected: assign(({ context }) => ({ media: { ...context.media, connected: true } })),
    recordEstablished: assign(({ event }) => ({ establishedAt: event.at })),
    applyRoster: assign(({ context, event }) =>
      event.type === 'CALL.ROSTER' ? { roster: nextRoster(context, event) } : {},
    ),
    noteReport: assign(({ context, event }) => {
      if (
        event.type !== 'GRAPH.RECORDING_STATUS_OK' &&
        event.type !== 'GRAPH.RECORDING_STATUS_FAILED'
      )
        return {};
      const ok = event.type === 'GRAPH.RECORDING_STATUS_OK';
      const entry = {
        status: event.recordingStatus,
        at: event.at,
        ok,
        ...(ok ? {} : { detail: event.reason }),
      };
      return {
        recording: {
          ...context.recording,
          reports: [...context.recording.reports, entry].slice(-REPORTS_MAX),
        },
      };
    }),
    startPersisting: assign(({ context, event }) => ({
      recording: { ...context.recording, persist: true, confirmedAt: event.at },
    })),
    stopPersisting: assign(({ context }) => ({
      recording: { ...context.recording, persist: false },
    })),
    // A stop the media process must confirm: its generation is echoed in MEDIA.STOPPED.
    requestStop: assign(({ context, event }) => ({
      seq: context.seq + 1,
      recording: {
        ...context.recording,
        persist: false,
        stop: { gen: context.seq + 1, at: event.at },
      },
    })),
    noteStopConfirmed: assign(({ context, event }) => ({
      recording: {
        ...context.recording,
        ...(context.recording.stop && {
          stop: { ...context.recording.stop, confirmedAt: event.at },
        }),
      },
    })),
  },
  guards: {
    verdictIsAnswer: ({ context }) => context.verdict?.action === 'answer',
    isDeadlineMiss: ({ event }) =>
      event.type === 'CALL.TERMINATED' &&
      event.resultInfo?.code === 408 &&
      event.resultInfo.subcode === 8544,
    timerIsCurrent: ({ context, event }) =>
      event.type in TIMER_OF &&
      'gen' in event &&
      context.timers[TIMER_OF[event.type as TimerEventType]] === event.gen,
    reports: ({ event }, params: { recordingStatus: RecordingStatus }) =>
      (event.type === 'GRAPH.RECORDING_STATUS_OK' ||
        event.type === 'GRAPH.RECORDING_STATUS_FAILED') &&
      event.recordingStatus === params.recordingStatus,
    callGone: ({ event }) => 'httpStatus' in event && event.httpStatus === 404,
    /** Graph said 404 before, long enough ago that the end notification is not coming. */
    goneLongAgo: ({ context, event }) =>
      context.keepAlive.goneAt !== undefined &&
      event.at - context.keepAlive.goneAt >= endNoticeWaitMs(context.settings),
    wasRecording: ({ context }) => context.recording.persist,
    rosterChanges: ({ context, event }) =>
      event.type === 'CALL.ROSTER' && nextRoster(context, event) !== context.roster,
    mediaFlowing: ({ context }) => context.media.flowing,
    mediaNotFlowing: ({ context }) => !context.media.flowing,
    mediaNotConnected: ({ context }) => !context.media.connected,
    mediaConnectedOrFlowing: ({ context }) => context.media.connected || context.media.flowing,
    notEnding: ({ context }) => context.endedBy !== 'bot',
    stopConfirmed: ({ context, event }) =>
      event.type === 'MEDIA.STOPPED' && event.gen === context.recording.stop?.gen,
    // ENDED/FAULT are reported only after the session stopped writing, and it cannot resume
    noMediaSession: ({ context }) => !context.media.connected && !context.media.flowing,
  },
});

type GraphEffect = Extract<CallEffect, { type: `graph.${string}` }>;
type RequestBase = Pick<GraphEffect['params'], 'callId' | 'tenantId' | 'gen'>;

/**
 * A Graph request: it gets the next generation (its job id, and the key of its result) and the
 * effect `build` names, checked against the effect's params by `enqueue`.
 */
const request = (build: (base: RequestBase, context: CallContext, at: number) => GraphEffect) =>
  calls.enqueueActions(({ context, event, enqueue }) => {
    const gen = context.seq + 1;
    const base = { callId: context.invite!.callId, tenantId: context.invite!.tenantId, gen };
    enqueue.assign({ seq: gen });
    enqueue(build(base, context, event.at));
  });
const withinBudget = (context: CallContext, at: number) => at + context.settings!.effectBudgetMs;

const answer = request((base, context) => ({
  type: 'graph.answer',
  params: { ...base, deadlineAt: context.deadlineAt! },
}));
const reject = request((base, context) => ({
  type: 'graph.reject',
  params: {
    ...base,
    deadlineAt: context.deadlineAt!,
    reason: context.verdict?.action === 'reject' ? context.verdict.reason : 'none',
  },
}));
const report = (recordingStatus: RecordingStatus) =>
  request((base, context, at) => ({
    type: 'graph.updateRecordingStatus',
    params: {
      ...base,
      deadlineAt: withinBudget(context, at),
      recordingStatus,
      clientContext: `${base.callId}-${recordingStatus}-${base.gen}`.slice(0, 256),
    },
  }));
// worth sending until the next one is due
const keepAlive = request((base, context, at) => ({
  type: 'graph.keepAlive',
  params: { ...base, deadlineAt: at + context.settings!.keepAliveIntervalMs },
}));
const countKeepAlive = calls.assign(({ context }) => ({
  keepAlive: { ...context.keepAlive, sent: context.keepAlive.sent + 1 },
}));
const hangUp = request((base, context, at) => ({
  type: 'graph.hangUp',
  params: { ...base, deadlineAt: withinBudget(context, at) },
}));

const arm = (timer: TimerId) =>
  calls.enqueueActions(({ context, event, enqueue }) => {
    const gen = context.seq + 1;
    const s = context.settings!;
    const delay = {
      keepAlive: s.keepAliveIntervalMs,
      mediaArrival: s.mediaArrivalTimeoutMs,
      mediaStop: s.mediaStopTimeoutMs ?? MEDIA_STOP_FALLBACK_MS,
    };
    const fireAt = timer === 'answerDeadline' ? context.deadlineAt! : event.at + delay[timer];
    enqueue.assign({ seq: gen, timers: { ...context.timers, [timer]: gen } });
    enqueue({
      type: 'timer.start',
      params: { timerId: timer, gen, fireAt, event: TIMER_EVENT[timer] },
    });
  });
const disarm = (timer: TimerId) =>
  calls.enqueueActions(({ context, enqueue }) => {
    const gen = context.timers[timer];
    if (gen === undefined) return;
    const timers = { ...context.timers };
    delete timers[timer];
    enqueue.assign({ timers });
    enqueue({ type: 'timer.cancel', params: { timerId: timer, gen } });
  });
const cancelTimers = calls.enqueueActions(({ context, enqueue }) => {
  for (const timerId of Object.keys(context.timers).filter(isTimerId)) {
    const gen = context.timers[timerId];
    if (gen !== undefined) enqueue({ type: 'timer.cancel', params: { timerId, gen } });
  }
  enqueue.assign({ timers: {} });
});

export const callMachine = calls.createMachine({
  id: 'call',
  context: {
    seq: 0,
    timers: {},
    recording: { persist: false, reports: [] },
    keepAlive: { sent: 0 },
    media: { connected: false, flowing: false },
    roster: EMPTY_ROSTER,
    trail: [],
  },
  initial: 'idle',
  states: {
    idle: {
      on: { 'CALL.INCOMING': { target: 'incoming', actions: 'recordInvite' } },
    },
    incoming: {
      entry: enter('incoming'),
      always: [{ guard: 'verdictIsAnswer', target: 'answering' }, { target: 'rejecting' }],
    },
    answering: {
      entry: [enter('answering'), answer, arm('answerDeadline')],
      on: {
        'GRAPH.ANSWER_ACCEPTED': { target: 'live.answered', actions: 'recordAnswer' },
        'GRAPH.ANSWER_FAILED': {
          target: 'failed',
          actions: assign(({ event }) => ({
            failure: { reason: 'answer-refused' as const, detail: event.reason },
            answerAttempts: event.attempts,
          })),
        },
        'TIMER.ANSWER_DEADLINE': {
          guard: 'timerIsCurrent',
          target: 'failed',
          actions: assign({ failure: { reason: 'answer-deadline-missed' as const } }),
        },
        'CALL.ESTABLISHING': 'live.establishing',
        'CALL.ESTABLISHED': 'live.established',
        'CALL.ROSTER': { guard: 'rosterChanges', actions: 'applyRoster' },
        'CALL.TERMINATED': [
          {
            guard: 'isDeadlineMiss',
            target: 'failed',
            actions: [
              'recordEnd',
              assign({ failure: { reason: 'answer-deadline-missed' as const } }),
            ],
          },
          { target: 'terminated', actions: 'recordEnd' },
        ],
      },
    },
    live: {
      entry: [disarm('answerDeadline'), arm('keepAlive')],
      on: {
        'GRAPH.ANSWER_ACCEPTED': { actions: 'recordAnswer' },
        'CALL.ROSTER': { guard: 'rosterChanges', actions: 'applyRoster' },
        'TIMER.KEEPALIVE_DUE': {
          guard: 'timerIsCurrent',
          actions: [countKeepAlive, keepAlive, arm('keepAlive')],
        },
        'GRAPH.KEEPALIVE_OK': {
          actions: assign(({ context, event }) => ({
            keepAlive: { ...context.keepAlive, lastOkAt: event.at },
          })),
        },
        'GRAPH.KEEPALIVE_FAILED': [
          {
            // Graph answers 404 for a call that is gone (docs/teams-protocol.md#other-operations).
            // Said again once the end notification had time to come (`endNoticeWaitMs`) and it
            // did not: it is over. Ended by the platform, unless the bot was ending it.
            guard: and(['callGone', 'goneLongAgo']),
            target: 'terminated',
            actions: [
              assign(({ context }) => ({ endedBy: context.endedBy ?? ('platform' as const) })),
              'recordEnd',
            ],
          },
          {
            // The first 404 while the bot ends the call (its hang-up may be what ended it): the end
            // notification, with the result code, may still come. Keep ending; a later 404 ends it.
            guard: and(['callGone', stateIn('#call.live.ending')]),
            actions: assign(({ context, event }) => ({
              keepAlive: {
                ...context.keepAlive,
                lastError: event.reason,
                goneAt: context.keepAlive.goneAt ?? event.at,
              },
            })),
          },
          {
            // The first 404: the platform ended the call and its `deleted` notification, which
            // carries how it ended, may still be on its way (a keep-alive can overtake it). Wait
            // for it; a later 404 ends the call if it never comes.
            guard: 'callGone',
            target: '.terminating',
            actions: assign(({ context, event }) => ({
              keepAlive: {
                ...context.keepAlive,
                lastError: event.reason,
                goneAt: context.keepAlive.goneAt ?? event.at,
              },
            })),
          },
          {
            actions: assign(({ context, event }) => ({
              keepAlive: { ...context.keepAlive, lastError: event.reason },
            })),
          },
        ],
        'CALL.HANGUP': { guard: 'notEnding', target: '.ending' },
        'CALL.TERMINATED': { target: 'terminated', actions: 'recordEnd' },
        'MEDIA.CONNECTED': { guard: 'mediaNotConnected', actions: 'mediaConnected' },
        'MEDIA.FLOWING': { guard: 'mediaNotFlowing', actions: 'mediaUp' },
        'MEDIA.LOST': { guard: 'mediaFlowing', actions: 'mediaDown' },
        'MEDIA.ENDED': { guard: 'mediaConnectedOrFlowing', actions: 'mediaDown' },
        'MEDIA.FAULT': { actions: 'mediaDown' },
      },
      initial: 'answered',
      states: {
        answered: {
          entry: enter('answered'),
          on: {
            'CALL.ESTABLISHING': 'establishing',
            'CALL.ESTABLISHED': 'established',
            'CALL.TERMINATING': 'terminating',
          },
        },
        establishing: {
          entry: enter('establishing'),
          on: { 'CALL.ESTABLISHED': 'established', 'CALL.TERMINATING': 'terminating' },
        },
        established: {
          entry: [enter('established'), 'recordEstablished'],
          on: { 'CALL.TERMINATING': 'terminating' },
          initial: 'awaitingMedia',
          states: {
            awaitingMedia: {
              entry: arm('mediaArrival'),
              exit: disarm('mediaArrival'),
              always: { guard: 'mediaFlowing', target: 'startingRecording' },
              on: {
                'MEDIA.FLOWING': { target: 'startingRecording', actions: 'mediaUp' },
                'TIMER.MEDIA_ARRIVAL': { guard: 'timerIsCurrent', target: 'recordingFailed' },
              },
            },
            startingRecording: {
              entry: [enter('startingRecording'), report('recording')],
              on: {
                'GRAPH.RECORDING_STATUS_OK': {
                  guard: { type: 'reports', params: { recordingStatus: 'recording' } },
                  target: 'recording',
                  actions: ['noteReport', 'startPersisting'],
                },
                'GRAPH.RECORDING_STATUS_FAILED': {
                  guard: { type: 'reports', params: { recordingStatus: 'recording' } },
                  target: 'recordingFailed',
                  actions: 'noteReport',
                },
                'MEDIA.FAULT': { target: 'recordingFailed', actions: 'mediaDown' },
              },
            },
            recording: {
              entry: enter('recording'),
              on: { 'MEDIA.FAULT': { target: 'recordingFailed', actions: 'mediaDown' } },
            },
            recordingFailed: {
              entry: [enter('recordingFailed'), 'stopPersisting', report('failed')],
              on: {
                'MEDIA.FLOWING': { target: 'startingRecording', actions: 'mediaUp' },
                'GRAPH.RECORDING_STATUS_OK': { actions: 'noteReport' },
                'GRAPH.RECORDING_STATUS_FAILED': { actions: 'noteReport' },
              },
            },
          },
        },
        terminating: { entry: enter('terminating') },
        ending: {
          // The bot ends the call: stop persisting, wait until the media session confirmed the
          // stop, report notRecording (failed when unconfirmed), then hang up; see
          // https://learn.microsoft.com/graph/api/call-updaterecordingstatus
          entry: [enter('ending'), assign({ endedBy: 'bot' as const })],
          initial: 'deciding',
          states: {
            deciding: {
              always: [{ guard: 'wasRecording', target: 'stoppingMedia' }, { target: 'hangingUp' }],
            },
            stoppingMedia: {
              entry: ['requestStop', arm('mediaStop')],
              exit: disarm('mediaStop'),
              always: { guard: 'noMediaSession', target: 'reportingStopped' },
              on: {
                'MEDIA.STOPPED': {
                  guard: 'stopConfirmed',
                  target: 'reportingStopped',
                  actions: 'noteStopConfirmed',
                },
                'MEDIA.ENDED': {
                  target: 'reportingStopped',
                  actions: ['mediaDown', 'noteStopConfirmed'],
                },
                'MEDIA.FAULT': {
                  target: 'reportingStopped',
                  actions: ['mediaDown', 'noteStopConfirmed'],
                },
                'TIMER.MEDIA_STOP': { guard: 'timerIsCurrent', target: 'reportingUnconfirmed' },
              },
            },
            reportingStopped: {
              // `stopPersisting` for a call stored while it was already here (no stoppingMedia)
              entry: ['stopPersisting', report('notRecording')],
              on: {
                'GRAPH.RECORDING_STATUS_OK': {
                  guard: { type: 'reports', params: { recordingStatus: 'notRecording' } },
                  target: 'hangingUp',
                  actions: 'noteReport',
                },
                'GRAPH.RECORDING_STATUS_FAILED': {
                  guard: { type: 'reports', params: { recordingStatus: 'notRecording' } },
                  target: 'hangingUp',
                  actions: 'noteReport',
                },
              },
            },
            reportingUnconfirmed: {
              // the media process could not confirm the stop: never claim notRecording
              entry: report('failed'),
              on: {
                'GRAPH.RECORDING_STATUS_OK': {
                  guard: { type: 'reports', params: { recordingStatus: 'failed' } },
                  target: 'hangingUp',
                  actions: 'noteReport',
                },
                'GRAPH.RECORDING_STATUS_FAILED': {
                  guard: { type: 'reports', params: { recordingStatus: 'failed' } },
                  target: 'hangingUp',
                  actions: 'noteReport',
                },
              },
            },
            hangingUp: {
              entry: hangUp,
              on: {
                'GRAPH.HANGUP_FAILED': {
                  guard: 'callGone',
                  target: '#call.terminated',
                  actions: 'recordEnd',
                },
              },
            },
          },
        },
      },
    },
    rejecting: {
      entry: [enter('rejecting'), reject, arm('answerDeadline')],
      on: {
        'GRAPH.REJECT_ACCEPTED': {
          target: 'rejected',
          actions: [assign(({ event }) => ({ rejectedAt: event.at })), disarm('answerDeadline')],
        },
        'CALL.TERMINATED': { target: 'rejected', actions: 'recordEnd' },
        'GRAPH.REJECT_FAILED': {
          target: 'failed',
          actions: assign(({ event }) => ({
            failure: { reason: 'reject-refused' as const, detail: event.reason },
          })),
        },
        'TIMER.ANSWER_DEADLINE': {
          guard: 'timerIsCurrent',
          target: 'failed',
          actions: assign({ failure: { reason: 'answer-deadline-missed' as const } }),
        },
      },
    },
    terminated: { type: 'final', entry: [enter('terminated'), cancelTimers] },
    rejected: { type: 'final', entry: [enter('rejected'), cancelTimers] },
    failed: { type: 'final', entry: [enter('failed'), cancelTimers] },
  },
});

export type CallMachine = typeof callMachine;
