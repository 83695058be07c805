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
 * Effects are named actions with params (`graph.*`, `timer.start`, `timer.cancel`); the runtime
 * turns them into durable jobs after the commit, results come back as events. No `after` or
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
import { and, assign, enqueueActions, or, setup, stateIn } from 'xstate';
import type {
  AnswerEffect,
  CallContext,
  CallEvent,
  HangUpEffect,
  KeepAliveEffect,
  RecordingStatus,
  RecordingStatusEffect,
  RejectEffect,
  TimerCancelEffect,
  TimerEffect,
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

const enter = (state: string) => ({ type: 'enterState' as const, params: { state } });
type GraphRequest =
  | { op: 'answer' | 'reject' | 'keepAlive' | 'hangUp' }
  | { op: 'updateRecordingStatus'; status: RecordingStatus };
const graph = (request: GraphRequest) => ({ type: 'graph' as const, params: request });
const report = (status: RecordingStatus) => graph({ op: 'updateRecordingStatus', status });
const arm = (timer: TimerId) => ({ type: 'armTimer' as const, params: { timer } });
const disarm = (timer: TimerId) => ({ type: 'disarmTimer' as const, params: { timer } });
const nextRoster = (context: CallContext, event: Extract<CallEvent, { type: 'CALL.ROSTER' }>) =>
  applyRoster(context.roster, event.update, event.at, context.settings?.rosterMaxParticipants);

type EffectParams = {
  'graph.answer': AnswerEffect;
  'graph.reject': RejectEffect;
  'graph.updateRecordingStatus': RecordingStatusEffect;
  'graph.keepAlive': KeepAliveEffect;
  'graph.hangUp': HangUpEffect;
  'timer.start': TimerEffect;
  'timer.cancel': TimerCancelEffect;
};
/**
 * An effect action object for `enqueue`. Inside `setup()` the enqueue callback cannot see the
 * sibling action names' types, so the name and params are checked here instead.
 */
const effect = <K extends keyof EffectParams>(type: K, params: EffectParams[K]) =>
  ({ type, params }) as unknown as never;

export const callMachine = setup({
  types: { context: {} as CallContext, events: {} as CallEvent },
  actions: {
    // Effects: declared here so their names and params are typed; src/calls executes them.
    'graph.answer': (_a, _p: AnswerEffect) => undefined,
    'graph.reject': (_a, _p: RejectEffect) => undefined,
    'graph.updateRecordingStatus': (_a, _p: RecordingStatusEffect) => undefined,
    'graph.keepAlive': (_a, _p: KeepAliveEffect) => undefined,
    'graph.hangUp': (_a, _p: HangUpEffect) => undefined,
    'timer.start': (_a, _p: TimerEffect) => undefined,
    'timer.cancel': (_a, _p: TimerCancelEffect) => undefined,

    enterState: assign(({ context, event }, params: { state: string }) => ({
      trail: [...context.trail, [params.state, event.at] as [string, number]].slice(-TRAIL_MAX),
    })),
    armTimer: enqueueActions(({ context, event, enqueue }, params: { timer: TimerId }) => {
      const gen = context.seq + 1;
      const s = context.settings!;
      const delay = {
        keepAlive: s.keepAliveIntervalMs,
        mediaArrival: s.mediaArrivalTimeoutMs,
        mediaStop: s.mediaStopTimeoutMs ?? MEDIA_STOP_FALLBACK_MS,
      };
      const fireAt =
        params.timer === 'answerDeadline' ? context.deadlineAt! : event.at + delay[params.timer];
      enqueue.assign({ seq: gen, timers: { ...context.timers, [params.timer]: gen } });
      enqueue(
        effect('timer.start', {
          timerId: params.timer,
          gen,
          fireAt,
          event: TIMER_EVENT[params.timer],
        }),
      );
    }),
    disarmTimer: enqueueActions(({ context, enqueue }, params: { timer: TimerId }) => {
      const gen = context.timers[params.timer];
      if (gen === undefined) return;
      const timers = { ...context.timers };
      delete timers[params.timer];
      enqueue.assign({ timers });
      enqueue(effect('timer.cancel', { timerId: params.timer, gen }));
    }),
    // Every Graph request gets the next generation: its job id, and the key of its result.
    graph: enqueueActions(({ context, event, enqueue }, request: GraphRequest) => {
      const gen = context.seq + 1;
      const common = { callId: context.invite!.callId, tenantId: context.invite!.tenantId, gen };
      const withinBudget = event.at + context.settings!.effectBudgetMs;
      enqueue.assign({ seq: gen });
      switch (request.op) {
        case 'answer':
          enqueue(effect('graph.answer', { ...common, deadlineAt: context.deadlineAt! }));
          break;
        case 'reject': {
          const reason = context.verdict?.action === 'reject' ? context.verdict.reason : 'none';
          enqueue(effect('graph.reject', { ...common, deadlineAt: context.deadlineAt!, reason }));
          break;
        }
        case 'updateRecordingStatus': {
          const clientContext = `${common.callId}-${request.status}-${gen}`.slice(0, 256);
          enqueue(
            effect('graph.updateRecordingStatus', {
              ...common,
              deadlineAt: withinBudget,
              status: request.status,
              clientContext,
            }),
          );
          break;
        }
        case 'keepAlive':
          // worth sending until the next one is due
          enqueue.assign({ keepAlive: { ...context.keepAlive, sent: context.keepAlive.sent + 1 } });
          enqueue(
            effect('graph.keepAlive', {
              ...common,
              deadlineAt: event.at + context.settings!.keepAliveIntervalMs,
            }),
          );
          break;
        case 'hangUp':
          enqueue(effect('graph.hangUp', { ...common, deadlineAt: withinBudget }));
          break;
      }
    }),
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
    cancelTimers: enqueueActions(({ context, enqueue }) => {
      for (const [timerId, gen] of Object.entries(context.timers)) {
        enqueue(effect('timer.cancel', { timerId: timerId as TimerId, gen }));
      }
      enqueue.assign({ timers: {} });
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
        status: event.status,
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
    reports: ({ event }, params: { status: RecordingStatus }) =>
      (event.type === 'GRAPH.RECORDING_STATUS_OK' ||
        event.type === 'GRAPH.RECORDING_STATUS_FAILED') &&
      event.status === params.status,
    callGone: ({ event }) => 'status' in event && event.status === 404,
    goneBefore: ({ context }) => context.keepAlive.goneAt !== undefined,
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
}).createMachine({
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
      entry: [enter('answering'), graph({ op: 'answer' }), arm('answerDeadline')],
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
          actions: [graph({ op: 'keepAlive' }), arm('keepAlive')],
        },
        'GRAPH.KEEPALIVE_OK': {
          actions: assign(({ context, event }) => ({
            keepAlive: { ...context.keepAlive, lastOkAt: event.at },
          })),
        },
        'GRAPH.KEEPALIVE_FAILED': [
          {
            // Graph answers 404 for a call that is gone (docs/teams-protocol.md#other-operations).
            // Said a second time (no end notification came), or while the bot ends the call: it is
            // over.
            guard: and(['callGone', or(['goneBefore', stateIn('#call.live.ending')])]),
            target: 'terminated',
            actions: [assign({ endedBy: 'platform' as const }), 'recordEnd'],
          },
          {
            // The first 404: the platform ended the call and its `deleted` notification, which
            // carries how it ended, may still be on its way (a keep-alive can overtake it). Wait
            // for it; the next keep-alive ends the call if it never comes.
            guard: 'callGone',
            target: '.terminating',
            actions: assign(({ context, event }) => ({
              keepAlive: { ...context.keepAlive, lastError: event.reason, goneAt: event.at },
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
                  guard: { type: 'reports', params: { status: 'recording' } },
                  target: 'recording',
                  actions: ['noteReport', 'startPersisting'],
                },
                'GRAPH.RECORDING_STATUS_FAILED': {
                  guard: { type: 'reports', params: { status: 'recording' } },
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
                  guard: { type: 'reports', params: { status: 'notRecording' } },
                  target: 'hangingUp',
                  actions: 'noteReport',
                },
                'GRAPH.RECORDING_STATUS_FAILED': {
                  guard: { type: 'reports', params: { status: 'notRecording' } },
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
                  guard: { type: 'reports', params: { status: 'failed' } },
                  target: 'hangingUp',
                  actions: 'noteReport',
                },
                'GRAPH.RECORDING_STATUS_FAILED': {
                  guard: { type: 'reports', params: { status: 'failed' } },
                  target: 'hangingUp',
                  actions: 'noteReport',
                },
              },
            },
            hangingUp: {
              entry: graph({ op: 'hangUp' }),
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
      entry: [enter('rejecting'), graph({ op: 'reject' }), arm('answerDeadline')],
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
    terminated: { type: 'final', entry: [enter('terminated'), 'cancelTimers'] },
    rejected: { type: 'final', entry: [enter('rejected'), 'cancelTimers'] },
    failed: { type: 'final', entry: [enter('failed'), 'cancelTimers'] },
  },
});

export type CallMachine = typeof callMachine;
