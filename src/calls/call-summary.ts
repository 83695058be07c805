/**
 * What an operator's list of calls shows of one call, computed from the call's context at each
 * commit and written with it (the `sum` field of the call hash, and the compact record), so a
 * list never loads whole snapshots. A failure is said in words: why the call was not recorded
 * or ended badly, from the machine's failure, Teams' `resultInfo`, the policy's verdict, the
 * recording reports and the keep-alive.
 */
import type { CallContext } from '../../machines/call.js';
import { boundedReason, httpStatusInWords } from './history.js';

export type FailureKind =
  | 'deadline-missed'
  | 'graph-refused'
  | 'media-lost'
  | 'keepalive-expired'
  | 'rejected-by-policy'
  | 'platform-ended'
  | 'other';

export interface CallFailure {
  kind: FailureKind;
  /** One sentence in words. */
  text: string;
  /** HTTP status or `code/subcode` of Teams' resultInfo, when there is one. */
  code?: string;
}

export interface CallSummaryFields {
  tenantId: string;
  kind: 'p2p' | 'meeting';
  recordedUserId?: string;
  receivedAt?: number;
  answeredAt?: number;
  endedAt?: number;
  /** Time of the event of the latest transition. */
  updatedAt: number;
  failure?: CallFailure;
}

/** The facts a failure is told from; both a live context and a compact record have them. */
export interface FailureFacts {
  state: string;
  failure?: CallContext['failure'];
  resultInfo?: CallContext['resultInfo'];
  verdict?: CallContext['verdict'];
  recordingReports: CallContext['recording']['reports'];
  mediaFault?: string | undefined;
  keepAliveGoneAt?: number | undefined;
}

/** `Graph answered 403 (8522): …` → 403. */
const statusIn = (detail: string | undefined): number | undefined => {
  const match = /answered (\d{3})/.exec(detail ?? '');
  return match ? Number(match[1]) : undefined;
};

/** Why the call failed, in words; undefined for a call that did not fail. */
export function failureOf(facts: FailureFacts): CallFailure | undefined {
  const f = facts.failure;
  if (f?.reason === 'answer-deadline-missed') {
    return {
      kind: 'deadline-missed',
      text: 'The answer deadline passed before Graph accepted the answer',
    };
  }
  if (f?.reason === 'answer-refused' || f?.reason === 'reject-refused') {
    const what = f.reason === 'answer-refused' ? 'answer' : 'reject';
    const status = statusIn(f.detail);
    return {
      kind: 'graph-refused',
      text: status
        ? `Graph refused ${what} with ${httpStatusInWords(status)}`
        : `Graph ${what} failed: ${boundedReason(f.detail ?? 'no detail')}`,
      ...(status ? { code: String(status) } : {}),
    };
  }
  const info = facts.resultInfo;
  if (info && info.code >= 400) {
    const code = `${info.code}/${info.subcode}`;
    if (info.code === 408 && info.subcode === 8537) {
      return {
        kind: 'keepalive-expired',
        text: `Teams ended the call: keep-alive expired (${code})`,
        code,
      };
    }
    if (info.code === 410 && info.subcode === 301005) {
      return { kind: 'media-lost', text: `Teams ended the call: media lost (${code})`, code };
    }
    if (info.code === 408 && info.subcode === 8544) {
      return {
        kind: 'deadline-missed',
        text: `Teams ended the call: the bot did not answer in time (${code})`,
        code,
      };
    }
    return {
      kind: 'platform-ended',
      text: `Teams ended the call with ${code}: ${boundedReason(info.message || 'no message')}`,
      code,
    };
  }
  if (facts.state === 'rejected' || facts.state === 'rejecting') {
    const v = facts.verdict;
    if (v?.action === 'reject') {
      return {
        kind: 'rejected-by-policy',
        text: `Rejected by policy rule ${boundedReason(v.rule)} (${v.reason})`,
      };
    }
  }
  const failedReport = facts.recordingReports.find((r) => r.status === 'failed');
  if (failedReport) {
    return {
      kind: 'media-lost',
      text: facts.mediaFault
        ? `Recording failed: ${boundedReason(facts.mediaFault)}`
        : 'Recording was reported failed to Teams (media did not arrive or stop was unconfirmed)',
    };
  }
  if (facts.keepAliveGoneAt !== undefined) {
    return {
      kind: 'keepalive-expired',
      text: 'Graph answered the keep-alive with 404 (Not Found): the call is gone',
      code: '404',
    };
  }
  if (facts.state === 'failed') return { kind: 'other', text: 'The call failed' };
  return undefined;
}

/** The facts of a live context. */
export function failureFactsOf(context: CallContext, state: string): FailureFacts {
  return {
    state,
    failure: context.failure,
    resultInfo: context.resultInfo,
    verdict: context.verdict,
    recordingReports: context.recording.reports,
    mediaFault: context.media.lastFault,
    keepAliveGoneAt: context.keepAlive.goneAt,
  };
}

/** The summary written with a commit; undefined before the invite is known. */
export function callSummary(
  context: CallContext,
  state: string,
  updatedAt: number,
): CallSummaryFields | undefined {
  const invite = context.invite;
  if (!invite) return undefined;
  const failure = failureOf(failureFactsOf(context, state));
  return {
    tenantId: invite.tenantId,
    kind: invite.kind,
    ...(invite.recordedUserId ? { recordedUserId: invite.recordedUserId } : {}),
    ...(context.receivedAt !== undefined ? { receivedAt: context.receivedAt } : {}),
    ...(context.answeredAt !== undefined ? { answeredAt: context.answeredAt } : {}),
    ...(context.endedAt !== undefined ? { endedAt: context.endedAt } : {}),
    updatedAt,
    ...(failure ? { failure } : {}),
  };
}
