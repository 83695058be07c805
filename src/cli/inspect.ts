/**
 * `npm run inspect -- <callId>`, development only: a call's recorded history (from the operator
 * API) replayed into a local actor of the call machine, watched by `@statelyai/inspect`. The
 * history keeps event types, times and outcomes, not payloads, so each event is rebuilt with
 * what the machine's guards need (the timer generation the actor armed, the recording status
 * the outcome names) and nothing else; every replayed step is checked against the state the
 * history recorded. What reaches the inspector is sanitised: no tenant, user or participant
 * ids, no identities, no reasons from outside, no tokens or media credentials (the replayed
 * context never holds them, and `sanitizeContext` / `sanitizeEvent` strip them again).
 */
import { createInspector, type StatelyInspectionEvent } from '@statelyai/inspect';
import { createActor, type AnyEventObject } from 'xstate';
import {
  callMachine,
  type CallContext,
  type CallEvent,
  type TimerId,
} from '../../machines/call.js';
import type { CallDetail } from '../admin/call-view.js';
import type { HistoryEntry } from '../calls/history.js';
import { stateName, type CallSnapshot } from '../calls/runtime.js';

const TIMER_OF: Record<string, TimerId> = {
  'TIMER.ANSWER_DEADLINE': 'answerDeadline',
  'TIMER.KEEPALIVE_DUE': 'keepAlive',
  'TIMER.MEDIA_ARRIVAL': 'mediaArrival',
  'TIMER.MEDIA_STOP': 'mediaStop',
};
const SETTINGS = {
  keepAliveIntervalMs: 15 * 60_000,
  mediaArrivalTimeoutMs: 30_000,
  effectBudgetMs: 60_000,
  mediaStopTimeoutMs: 3000,
};
const REPLAYED = 'replayed';

const attemptsIn = (outcome: string | undefined) =>
  Number(/after (\d+) attempt/.exec(outcome ?? '')?.[1] ?? 1);
const statusIn = (outcome: string | undefined) => {
  const m = /with (\d{3})/.exec(outcome ?? '');
  return m ? { httpStatus: Number(m[1]) } : {};
};
const recordingStatusIn = (outcome: string | undefined) =>
  (/recording status (recording|notRecording|failed)/.exec(outcome ?? '')?.[1] ?? 'recording') as
    'recording' | 'notRecording' | 'failed';

/** The event a history entry stands for, rebuilt against the actor's current snapshot. */
export function eventFor(
  entry: HistoryEntry,
  snapshot: CallSnapshot,
  kind: 'p2p' | 'meeting',
): CallEvent {
  const { at, outcome } = entry;
  const context = snapshot.context;
  switch (entry.event) {
    case 'CALL.INCOMING':
      return {
        type: 'CALL.INCOMING',
        at,
        deadlineAt: at + 5000,
        invite: { callId: 'call', tenantId: 'tenant', kind },
        verdict:
          entry.to === 'rejecting' || entry.to === 'rejected'
            ? { action: 'reject', reason: 'none', rule: REPLAYED }
            : { action: 'answer' },
        settings: SETTINGS,
      };
    case 'TIMER.ANSWER_DEADLINE':
    case 'TIMER.KEEPALIVE_DUE':
    case 'TIMER.MEDIA_ARRIVAL':
    case 'TIMER.MEDIA_STOP':
      return { type: entry.event, at, gen: context.timers[TIMER_OF[entry.event]!] ?? 0 };
    case 'MEDIA.STOPPED':
      return { type: 'MEDIA.STOPPED', at, gen: context.recording.stop?.gen ?? 0 };
    case 'GRAPH.ANSWER_ACCEPTED':
      return { type: 'GRAPH.ANSWER_ACCEPTED', at, attempts: attemptsIn(outcome) };
    case 'GRAPH.ANSWER_FAILED':
      return {
        type: 'GRAPH.ANSWER_FAILED',
        at,
        reason: REPLAYED,
        attempts: attemptsIn(outcome),
        ...statusIn(outcome),
      };
    case 'GRAPH.RECORDING_STATUS_OK':
      return {
        type: 'GRAPH.RECORDING_STATUS_OK',
        at,
        recordingStatus: recordingStatusIn(outcome),
        attempts: attemptsIn(outcome),
      };
    case 'GRAPH.RECORDING_STATUS_FAILED':
      return {
        type: 'GRAPH.RECORDING_STATUS_FAILED',
        at,
        recordingStatus: recordingStatusIn(outcome),
        reason: REPLAYED,
        attempts: 1,
        ...statusIn(outcome),
      };
    case 'GRAPH.REJECT_FAILED':
    case 'GRAPH.KEEPALIVE_FAILED':
    case 'GRAPH.HANGUP_FAILED':
      return { type: entry.event, at, reason: REPLAYED, ...statusIn(outcome) };
    case 'MEDIA.LOST':
    case 'MEDIA.FAULT':
      return { type: entry.event, at, reason: REPLAYED };
    case 'CALL.HANGUP':
      return { type: 'CALL.HANGUP', at, reason: 'operator' };
    case 'CALL.ROSTER':
      // the roster's content is not replayed (it holds identities): an empty change
      return { type: 'CALL.ROSTER', at, update: { mode: 'delta', participants: [] } };
    default:
      return { type: entry.event, at } as CallEvent;
  }
}

/** What the inspector may see of a context: states and timings, no ids or outside text. */
export function sanitizeContext(context: CallContext): Record<string, unknown> {
  return {
    kind: context.invite?.kind,
    receivedAt: context.receivedAt,
    answeredAt: context.answeredAt,
    establishedAt: context.establishedAt,
    endedAt: context.endedAt,
    endedBy: context.endedBy,
    failure: context.failure?.reason,
    timers: context.timers,
    recording: {
      persist: context.recording.persist,
      reports: context.recording.reports.map((r) => ({ status: r.status, ok: r.ok, at: r.at })),
      stop: context.recording.stop,
    },
    keepAlive: { sent: context.keepAlive.sent, gone: context.keepAlive.goneAt !== undefined },
    media: { connected: context.media.connected, flowing: context.media.flowing },
    participants: Object.keys(context.roster.participants).length,
    trail: context.trail,
  };
}

/** What the inspector may see of an event: its type, time and the fields guards read. */
export function sanitizeEvent(event: AnyEventObject): AnyEventObject {
  const { type, at, gen, recordingStatus, attempts, httpStatus } = event as Record<string, unknown>;
  const kept = { at, gen, recordingStatus, attempts, httpStatus };
  return {
    type: String(type),
    ...Object.fromEntries(Object.entries(kept).filter(([, v]) => v !== undefined)),
  };
}

export interface ReplayResult {
  /** Steps whose replayed state differs from the recorded one. */
  divergences: Array<{ seq: number; event: string; recorded: string; replayed: string }>;
  finalState: string;
}

/**
 * Replay `call`'s history into a fresh actor inspected by an inspector sending every
 * (sanitised) inspection event to `send`.
 */
export async function replayCall(
  call: Pick<CallDetail, 'kind' | 'history'>,
  send: (event: StatelyInspectionEvent) => void,
): Promise<ReplayResult> {
  let sent = 0;
  const inspector = createInspector(
    {
      send: (event) => {
        sent += 1;
        send(event);
      },
    },
    {
      sanitizeContext: (context) => sanitizeContext(context as CallContext),
      sanitizeEvent,
    },
  );
  inspector.start();
  const actor = createActor(callMachine, { inspect: inspector.inspect });
  actor.start();
  const divergences: ReplayResult['divergences'] = [];
  for (const entry of call.history) {
    actor.send(eventFor(entry, actor.getSnapshot(), call.kind));
    const replayed = stateName(actor.getSnapshot());
    if (replayed !== entry.to) {
      divergences.push({ seq: entry.seq, event: entry.event, recorded: entry.to, replayed });
    }
  }
  const finalState = stateName(actor.getSnapshot());
  actor.stop();
  // the inspector hands events on in idle callbacks: wait until they stopped coming
  for (let seen = -1; seen !== sent;) {
    seen = sent;
    await new Promise((r) => setTimeout(r, 20));
  }
  inspector.stop();
  return { divergences, finalState };
}
