/**
 * The compact record of a finished call: what an auditor asks about a call after its full state
 * expired — who, when, how it ended, whether and when recording was confirmed, and every
 * participant with its identities, source ids and join and leave times (so a recording's tracks
 * can still be attributed). No roster names, no tokens. The call's history (every committed
 * transition, src/calls/history.ts) is kept beside it in the call's history list, which the
 * commit that writes the record gives the record's retention; `loadRecord` returns both.
 */
import type { CallContext, ParticipantStint } from '../../machines/call.js';
import { callSummary, type CallSummaryFields } from './call-summary.js';
import type { HistoryEntry } from './history.js';

export interface CallRecord {
  callId: string;
  tenantId: string;
  kind: 'p2p' | 'meeting';
  callChainId?: string;
  recordedUserId?: string;
  state: string;
  version: number;
  receivedAt?: number;
  answeredAt?: number;
  establishedAt?: number;
  endedAt?: number;
  endedBy?: CallContext['endedBy'];
  resultInfo?: CallContext['resultInfo'];
  failure?: CallContext['failure'];
  verdict?: CallContext['verdict'];
  recordingConfirmedAt?: number;
  recordingReports: CallContext['recording']['reports'];
  keepAlivesSent: number;
  /** Every presence in the call; one still open at the end left when the call ended. */
  participants: ParticipantStint[];
  /** Participants or history entries not kept because of the per-call roster cap. */
  participantsDropped: number;
  trail: CallContext['trail'];
  /** What the operator's list shows, the failure in words included. */
  summary?: CallSummaryFields;
  /** Every committed transition still kept, oldest first (read beside the record). */
  history?: HistoryEntry[];
  /** History entries shed by the per-call cap. */
  historyDropped?: number;
}

export function callRecord(
  context: CallContext,
  state: string,
  version: number,
  updatedAt: number = context.endedAt ?? 0,
): CallRecord | undefined {
  const invite = context.invite;
  if (!invite) return undefined;
  const summary = callSummary(context, state, updatedAt);
  const optional = <K extends keyof CallContext>(key: K) =>
    context[key] === undefined ? {} : { [key]: context[key] };
  return {
    callId: invite.callId,
    tenantId: invite.tenantId,
    kind: invite.kind,
    ...(invite.callChainId ? { callChainId: invite.callChainId } : {}),
    ...(invite.recordedUserId ? { recordedUserId: invite.recordedUserId } : {}),
    state,
    version,
    ...optional('receivedAt'),
    ...optional('answeredAt'),
    ...optional('establishedAt'),
    ...optional('endedAt'),
    ...optional('endedBy'),
    ...optional('resultInfo'),
    ...optional('failure'),
    ...optional('verdict'),
    ...(context.recording.confirmedAt
      ? { recordingConfirmedAt: context.recording.confirmedAt }
      : {}),
    recordingReports: context.recording.reports,
    keepAlivesSent: context.keepAlive.sent,
    participants: context.roster.history.map((stint) =>
      stint.leftAt === undefined && context.endedAt !== undefined
        ? { ...stint, leftAt: context.endedAt }
        : stint,
    ),
    participantsDropped: context.roster.dropped,
    trail: context.trail,
    ...(summary ? { summary } : {}),
  };
}
