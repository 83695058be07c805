/**
 * Events, context and effect parameters of the call machine. Types only: the machine is pure
 * and every timestamp (`at`, ms since epoch) comes in with the event, never from a clock.
 */

export type RejectReason = 'busy' | 'forbidden' | 'none';

/** What the answer policy decided for an invite (evaluated in src/policy, carried by the event). */
export type Verdict =
  { action: 'answer' } | { action: 'reject'; reason: RejectReason; rule: string };

export interface ResultInfo {
  code: number;
  subcode: number;
  message: string;
}

/** The facts of an invite kept on the call (small; reporting and re-join need them). */
export interface Invite {
  callId: string;
  tenantId: string;
  kind: 'p2p' | 'meeting';
  callChainId?: string;
  recordedUserId?: string;
  sourceParticipantId?: string;
  myParticipantId?: string;
}

export type CallEvent =
  | { type: 'CALL.INCOMING'; at: number; deadlineAt: number; invite: Invite; verdict: Verdict }
  | { type: 'CALL.ESTABLISHING'; at: number }
  | { type: 'CALL.ESTABLISHED'; at: number }
  | { type: 'CALL.TERMINATING'; at: number }
  | { type: 'CALL.TERMINATED'; at: number; resultInfo?: ResultInfo }
  | { type: 'GRAPH.ANSWER_ACCEPTED'; at: number; attempts: number }
  | { type: 'GRAPH.ANSWER_FAILED'; at: number; reason: string; status?: number; attempts: number }
  | { type: 'GRAPH.REJECT_ACCEPTED'; at: number }
  | { type: 'GRAPH.REJECT_FAILED'; at: number; reason: string; status?: number }
  | { type: 'TIMER.ANSWER_DEADLINE'; at: number };

export type CallEventType = CallEvent['type'];

export interface Failure {
  reason: 'answer-deadline-missed' | 'answer-refused' | 'reject-refused';
  detail?: string;
}

export interface CallContext {
  invite?: Invite;
  /** When the invite notification reached the ingress. */
  receivedAt?: number;
  /** receivedAt + the answer window; no answer may be sent after it. */
  deadlineAt?: number;
  verdict?: Verdict;
  answeredAt?: number;
  answerAttempts?: number;
  rejectedAt?: number;
  establishedAt?: number;
  endedAt?: number;
  resultInfo?: ResultInfo;
  failure?: Failure;
  /** States entered, with the event time: the call's visible history. */
  trail: Array<[string, number]>;
}

/** Parameters of the effects the machine asks for (executed by workers, never by the machine). */
export interface AnswerEffect {
  callId: string;
  tenantId: string;
  deadlineAt: number;
}
export interface RejectEffect {
  callId: string;
  tenantId: string;
  reason: RejectReason;
  deadlineAt: number;
}
export interface TimerEffect {
  timerId: 'answerDeadline';
  fireAt: number;
  event: 'TIMER.ANSWER_DEADLINE';
}
