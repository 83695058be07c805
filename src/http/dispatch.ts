/**
 * Turns parsed notifications into call events and applies them. Notifications of one call are
 * applied in the order they came in the batch; different calls proceed in parallel.
 *
 * Deliveries are deduplicated, not content: a notification's dedup id is its delivery's identity
 * (the original message id a redelivery keeps, else the message id) and its place in the batch.
 * The same content under a new id is a new delivery and is applied: a roster that returns to an
 * earlier state, or a participant muted again, is a real change. A delivery without either id
 * is applied (state notifications are idempotent in the machine; rosters apply in commit order).
 */
import { hash } from 'node:crypto';
import type { CallEvent, CallSettings, Invite } from '../../machines/call.js';
import type { ApplyResult, CallRuntime } from '../calls/runtime.js';
import { decide, type AnswerPolicy } from '../policy/policy.js';
import {
  CallResource,
  resourceOf,
  type CallResourceData,
  type ParsedNotification,
} from './notifications.js';
import { DEFAULT_ROSTER_LIMITS, toParticipants, type RosterLimits } from './roster.js';
import { ATTR } from '../telemetry/index.js';
import type { Counter } from '@opentelemetry/api';

export interface DispatchDeps {
  runtime: CallRuntime;
  policy: AnswerPolicy;
  answerDeadlineMs: number;
  /** Durations fixed on each call when its invite arrives. */
  callSettings: CallSettings;
  /**
   * How `updated` roster notifications are read: `full` (the default Teams sends: the whole
   * roster) or `delta` (only changed participants; the answer then asks for delta rosters).
   */
  rosterMode: 'full' | 'delta';
  /** @default DEFAULT_ROSTER_LIMITS */
  rosterLimits?: RosterLimits;
  /** Counts what the roster limits cut (telemetry `rosterCutCounter()`). */
  rosterCut?: Counter;
}

export interface DispatchOutcome {
  callId?: string;
  event?: CallEvent['type'];
  result: ApplyResult | { outcome: 'unsupported' };
}

export async function dispatchNotifications(
  deps: DispatchDeps,
  tenantId: string,
  notifications: ParsedNotification[],
  receivedAt: number,
  deliveryId?: string,
): Promise<DispatchOutcome[]> {
  const byCall = new Map<string, Array<{ n: ParsedNotification; dedupId?: string }>>();
  const outcomes: DispatchOutcome[] = [];
  notifications.forEach((n, index) => {
    const ref = resourceOf(n);
    if (!ref) {
      outcomes.push({ result: { outcome: 'unsupported' } });
      return;
    }
    const dedupId = deliveryId === undefined ? undefined : deliveryDedupId(deliveryId, index);
    byCall.set(ref.callId, [...(byCall.get(ref.callId) ?? []), { n, dedupId }]);
  });
  const perCall = await Promise.all(
    [...byCall].map(async ([callId, list]) => {
      const results: DispatchOutcome[] = [];
      for (const { n, dedupId } of list) {
        results.push(await dispatchOne(deps, tenantId, callId, n, receivedAt, dedupId));
      }
      return results;
    }),
  );
  return [...outcomes, ...perCall.flat()];
}

async function dispatchOne(
  deps: DispatchDeps,
  tenantId: string,
  callId: string,
  n: ParsedNotification,
  receivedAt: number,
  dedupId: string | undefined,
): Promise<DispatchOutcome> {
  const options = dedupId === undefined ? { tenantId } : { dedupId, tenantId };
  const ref = resourceOf(n);
  if (ref?.kind === 'participants' && n.resourceData !== undefined) {
    const list = Array.isArray(n.resourceData) ? n.resourceData : [n.resourceData];
    const mode =
      n.changeType === 'deleted'
        ? 'removed'
        : n.changeType === 'created'
          ? 'delta'
          : deps.rosterMode;
    const { participants, cuts } = toParticipants(list, deps.rosterLimits ?? DEFAULT_ROSTER_LIMITS);
    if (cuts.participants > 0)
      deps.rosterCut?.add(cuts.participants, { [ATTR.rosterCut]: 'participants' });
    if (cuts.ids > 0) deps.rosterCut?.add(cuts.ids, { [ATTR.rosterCut]: 'ids' });
    const event: CallEvent = {
      type: 'CALL.ROSTER',
      at: receivedAt,
      update: { mode, participants },
    };
    const result = await deps.runtime.applyEvent(callId, event, options);
    return { callId, event: event.type, result };
  }
  if (ref?.kind !== 'call' || n.resourceData === undefined || Array.isArray(n.resourceData)) {
    // operation and content-sharing notifications change nothing the recorder decides on
    return { callId, result: { outcome: 'unsupported' } };
  }
  const data = CallResource.safeParse(n.resourceData);
  if (!data.success) return { callId, result: { outcome: 'unsupported' } };
  const event = await toEvent(deps, tenantId, callId, n.changeType, data.data, receivedAt);
  if (!event) return { callId, result: { outcome: 'unsupported' } };
  const result = await deps.runtime.applyEvent(callId, event, options);
  return { callId, event: event.type, result };
}

async function toEvent(
  deps: DispatchDeps,
  tenantId: string,
  callId: string,
  changeType: string,
  data: CallResourceData,
  at: number,
): Promise<CallEvent | undefined> {
  if (changeType === 'deleted' || data.state === 'terminated') {
    const r = data.resultInfo;
    return {
      type: 'CALL.TERMINATED',
      at,
      ...(r
        ? { resultInfo: { code: r.code, subcode: r.subcode ?? 0, message: r.message ?? '' } }
        : {}),
    };
  }
  switch (data.state) {
    case 'incoming': {
      const invite = inviteOf(callId, tenantId, data);
      // the live-call count is a round trip: asked only when a capacity limit is set
      const active =
        deps.policy.maxActiveCalls === undefined ? 0 : await deps.runtime.activeCallCount();
      const verdict = decide(deps.policy, invite, active);
      return {
        type: 'CALL.INCOMING',
        at,
        deadlineAt: at + deps.answerDeadlineMs,
        invite,
        verdict,
        settings: deps.callSettings,
      };
    }
    case 'establishing':
      return { type: 'CALL.ESTABLISHING', at };
    case 'established':
      return { type: 'CALL.ESTABLISHED', at };
    case 'terminating':
      return { type: 'CALL.TERMINATING', at };
    default:
      return undefined;
  }
}

function inviteOf(callId: string, tenantId: string, data: CallResourceData): Invite {
  const holder = data.applicationMetadata?.botData?.user?.policyHolderId;
  const recordedUserId = holder?.replace(/^8:orgid:/i, '') ?? data.source?.identity?.user?.id;
  const threadId = data.chatInfo?.threadId ?? '';
  return {
    callId,
    tenantId,
    kind: /meeting_/i.test(threadId) ? 'meeting' : 'p2p',
    ...(data.callChainId ? { callChainId: data.callChainId } : {}),
    ...(recordedUserId ? { recordedUserId } : {}),
    ...(data.incomingContext?.sourceParticipantId
      ? { sourceParticipantId: data.incomingContext.sourceParticipantId }
      : {}),
    ...(data.myParticipantId ? { myParticipantId: data.myParticipantId } : {}),
  };
}

/** Bounded and key-safe whatever the header held: a hash of the id and the batch position. */
function deliveryDedupId(deliveryId: string, index: number): string {
  return hash('sha256', `${deliveryId}\n${index}`, 'base64url').slice(0, 32);
}
