/**
 * The call machine: decides everything about one compliance-recording call, and does nothing.
 *
 * idle ─CALL.INCOMING→ incoming ─(verdict)→ answering ─GRAPH.ANSWER_ACCEPTED→ answered
 *                                     └────→ rejecting ─→ rejected
 * answering|answered ─CALL.ESTABLISHING→ establishing ─CALL.ESTABLISHED→ established
 * (established may come first: Teams delivers the two in either order; never go back)
 * answering ─TIMER.ANSWER_DEADLINE | GRAPH.ANSWER_FAILED | CALL.TERMINATED 408/8544→ failed
 * any live state ─CALL.TERMINATED→ terminated
 *
 * Effects are named actions with params (`graph.answer`, `graph.reject`, `timer.start`); the
 * runtime turns them into durable jobs after the commit. Results come back as events. There are
 * no `after`/`invoke` here: they would not survive a process boundary (library-notes §1.2).
 * Unhandled events leave the snapshot untouched, which is how late and duplicate
 * notifications become no-ops.
 */
import { assign, setup } from 'xstate';
import type {
  AnswerEffect,
  CallContext,
  CallEvent,
  RejectEffect,
  ResultInfo,
  TimerEffect,
} from './call-types.js';

export type * from './call-types.js';

/** Bump when a change makes stored snapshots unreadable; the store refuses other versions. */
export const CALL_MACHINE_VERSION = 1;

const DEADLINE_MISSED: Pick<ResultInfo, 'code' | 'subcode'> = { code: 408, subcode: 8544 };

const enter = (state: string) => ({ type: 'enterState' as const, params: { state } });

export const callMachine = setup({
  types: {
    context: {} as CallContext,
    events: {} as CallEvent,
  },
  actions: {
    // Effects: declared here so their names and params are typed; src/calls executes them.
    'graph.answer': (_args, _params: AnswerEffect) => undefined,
    'graph.reject': (_args, _params: RejectEffect) => undefined,
    'timer.start': (_args, _params: TimerEffect) => undefined,
    recordInvite: assign(({ event }) =>
      event.type === 'CALL.INCOMING'
        ? {
            invite: event.invite,
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
    recordEnd: assign(({ event }) =>
      event.type === 'CALL.TERMINATED'
        ? { endedAt: event.at, ...(event.resultInfo ? { resultInfo: event.resultInfo } : {}) }
        : { endedAt: event.at },
    ),
    enterState: assign(({ context, event }, params: { state: string }) => ({
      trail: [...context.trail, [params.state, event.at] as [string, number]],
    })),
    recordEstablished: assign(({ event }) => ({ establishedAt: event.at })),
  },
  guards: {
    verdictIsAnswer: ({ context }) => context.verdict?.action === 'answer',
    isDeadlineMiss: ({ event }) =>
      event.type === 'CALL.TERMINATED' &&
      event.resultInfo?.code === DEADLINE_MISSED.code &&
      event.resultInfo.subcode === DEADLINE_MISSED.subcode,
  },
}).createMachine({
  id: 'call',
  context: { trail: [] },
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
      entry: [
        enter('answering'),
        {
          type: 'graph.answer',
          params: ({ context }) => ({
            callId: context.invite!.callId,
            tenantId: context.invite!.tenantId,
            deadlineAt: context.deadlineAt!,
          }),
        },
        {
          type: 'timer.start',
          params: ({ context }) => ({
            timerId: 'answerDeadline' as const,
            fireAt: context.deadlineAt!,
            event: 'TIMER.ANSWER_DEADLINE' as const,
          }),
        },
      ],
      on: {
        'GRAPH.ANSWER_ACCEPTED': { target: 'answered', actions: 'recordAnswer' },
        'GRAPH.ANSWER_FAILED': {
          target: 'failed',
          actions: assign(({ event }) => ({
            failure: { reason: 'answer-refused' as const, detail: event.reason },
            answerAttempts: event.attempts,
          })),
        },
        'TIMER.ANSWER_DEADLINE': {
          target: 'failed',
          actions: assign({ failure: { reason: 'answer-deadline-missed' as const } }),
        },
        'CALL.ESTABLISHING': 'establishing',
        'CALL.ESTABLISHED': 'established',
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
    answered: {
      entry: enter('answered'),
      on: {
        'CALL.ESTABLISHING': 'establishing',
        'CALL.ESTABLISHED': 'established',
        'CALL.TERMINATING': 'terminating',
        'CALL.TERMINATED': { target: 'terminated', actions: 'recordEnd' },
      },
    },
    establishing: {
      entry: enter('establishing'),
      on: {
        'GRAPH.ANSWER_ACCEPTED': { actions: 'recordAnswer' },
        'CALL.ESTABLISHED': 'established',
        'CALL.TERMINATING': 'terminating',
        'CALL.TERMINATED': { target: 'terminated', actions: 'recordEnd' },
      },
    },
    established: {
      entry: [enter('established'), 'recordEstablished'],
      on: {
        'GRAPH.ANSWER_ACCEPTED': { actions: 'recordAnswer' },
        'CALL.TERMINATING': 'terminating',
        'CALL.TERMINATED': { target: 'terminated', actions: 'recordEnd' },
      },
    },
    terminating: {
      entry: enter('terminating'),
      on: { 'CALL.TERMINATED': { target: 'terminated', actions: 'recordEnd' } },
    },
    rejecting: {
      entry: [
        enter('rejecting'),
        {
          type: 'graph.reject',
          params: ({ context }) => ({
            callId: context.invite!.callId,
            tenantId: context.invite!.tenantId,
            reason: context.verdict?.action === 'reject' ? context.verdict.reason : 'none',
            deadlineAt: context.deadlineAt!,
          }),
        },
      ],
      on: {
        'GRAPH.REJECT_ACCEPTED': {
          target: 'rejected',
          actions: assign(({ event }) => ({ rejectedAt: event.at })),
        },
        'CALL.TERMINATED': { target: 'rejected', actions: 'recordEnd' },
        'GRAPH.REJECT_FAILED': {
          target: 'failed',
          actions: assign(({ event }) => ({
            failure: { reason: 'reject-refused' as const, detail: event.reason },
          })),
        },
      },
    },
    terminated: { type: 'final', entry: enter('terminated') },
    rejected: { type: 'final', entry: enter('rejected') },
    failed: { type: 'final', entry: enter('failed') },
  },
});

export type CallMachine = typeof callMachine;
