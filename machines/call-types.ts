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

/** Per-call durations, fixed when the invite arrives (from configuration). */
export interface CallSettings {
  /** Graph ends a call with no request for 45 min; we keep it alive every 15. */
  keepAliveIntervalMs: number;
  /** How long an established call may wait for media before recording is reported failed. */
  mediaArrivalTimeoutMs: number;
  /** How long a Graph effect other than answer/reject may keep being retried. */
  effectBudgetMs: number;
  /** Participants kept per call; more are dropped and counted. @default 1000 */
  rosterMaxParticipants?: number;
  /**
   * How long a stop of persisting waits for the media process to confirm it before the call
   * reports `failed` instead of `notRecording`. Absent in calls stored before it existed.
   */
  mediaStopTimeoutMs?: number;
}

export type TimerId = 'answerDeadline' | 'keepAlive' | 'mediaArrival' | 'mediaStop';
export type TimerEventType =
  'TIMER.ANSWER_DEADLINE' | 'TIMER.KEEPALIVE_DUE' | 'TIMER.MEDIA_ARRIVAL' | 'TIMER.MEDIA_STOP';
export type RecordingStatus = 'recording' | 'notRecording' | 'failed';

/** The identity kinds of a Graph `identitySet` this recorder names; anything else is `other`. */
export type IdentityKind =
  'user' | 'guest' | 'phone' | 'application' | 'applicationInstance' | 'other';

/** One identity of a participant's identity set (a bot has `application` and `guest`). */
export interface Identity {
  kind: IdentityKind;
  id?: string;
  tenantId?: string;
}

/** A participant as the media process and reports need it: ids and flags, no names. */
export interface Participant {
  id: string;
  /** The kind to display: the most telling identity of the set. */
  kind: IdentityKind | 'unknown';
  /** Every identity of the set, each with its own id: none is dropped for another. */
  identities: Identity[];
  muted: boolean;
  /** Muted by the server (a stream's `serverMuted`), which the participant cannot undo. */
  serverMuted: boolean;
  inLobby: boolean;
  /** Source ids (MSIs) the participant sends, by media type; receive-only streams are not here. */
  sources: { audio?: string; video?: string; screen?: string };
  /** `rosterSequenceNumber`, when Teams sends one. */
  seq?: number;
}

/** One presence of a participant in the call: kept after it left, for reports and records. */
export interface ParticipantStint {
  id: string;
  kind: Participant['kind'];
  identities: Identity[];
  /** Every source id the participant sent while present. */
  sources: string[];
  joinedAt: number;
  leftAt?: number;
}

export interface RosterUpdate {
  /** full: the complete roster; delta: changed participants; removed: participants who left. */
  mode: 'full' | 'delta' | 'removed';
  participants: Participant[];
}

export type CallEvent =
  | {
      type: 'CALL.INCOMING';
      at: number;
      deadlineAt: number;
      invite: Invite;
      verdict: Verdict;
      settings: CallSettings;
    }
  | { type: 'CALL.ESTABLISHING'; at: number }
  | { type: 'CALL.ESTABLISHED'; at: number }
  | { type: 'CALL.TERMINATING'; at: number }
  | { type: 'CALL.TERMINATED'; at: number; resultInfo?: ResultInfo }
  | { type: 'CALL.ROSTER'; at: number; update: RosterUpdate }
  /** The bot ends the call (operator request). */
  | { type: 'CALL.HANGUP'; at: number; reason: string }
  | { type: 'GRAPH.ANSWER_ACCEPTED'; at: number; attempts: number }
  | {
      type: 'GRAPH.ANSWER_FAILED';
      at: number;
      reason: string;
      httpStatus?: number;
      attempts: number;
    }
  | { type: 'GRAPH.REJECT_ACCEPTED'; at: number }
  | { type: 'GRAPH.REJECT_FAILED'; at: number; reason: string; httpStatus?: number }
  | {
      type: 'GRAPH.RECORDING_STATUS_OK';
      at: number;
      recordingStatus: RecordingStatus;
      attempts: number;
    }
  | {
      type: 'GRAPH.RECORDING_STATUS_FAILED';
      at: number;
      recordingStatus: RecordingStatus;
      reason: string;
      httpStatus?: number;
      attempts: number;
    }
  | { type: 'GRAPH.KEEPALIVE_OK'; at: number }
  | { type: 'GRAPH.KEEPALIVE_FAILED'; at: number; reason: string; httpStatus?: number }
  | { type: 'GRAPH.HANGUP_OK'; at: number }
  | { type: 'GRAPH.HANGUP_FAILED'; at: number; reason: string; httpStatus?: number }
  /** From the media process: the peer proved the call's credential. */
  | { type: 'MEDIA.CONNECTED'; at: number }
  /** Media frames are arriving (first frame, and again after a resume). */
  | { type: 'MEDIA.FLOWING'; at: number }
  /** The media connection dropped; the peer may come back within the reconnect window. */
  | { type: 'MEDIA.LOST'; at: number; reason: string }
  /** Recording cannot go on: the window passed, the disk is full, a write failed. */
  | { type: 'MEDIA.FAULT'; at: number; reason: string }
  /** The peer ended the stream (the call is over for the media plane). */
  | { type: 'MEDIA.ENDED'; at: number }
  /**
   * The media session saw the stop request `gen` (persist 0) and writes nothing more: its
   * queue is dropped and what was written is flushed.
   */
  | { type: 'MEDIA.STOPPED'; at: number; gen: number }
  | { type: TimerEventType; at: number; gen: number };

export type CallEventType = CallEvent['type'];

export interface Failure {
  reason: 'answer-deadline-missed' | 'answer-refused' | 'reject-refused';
  detail?: string;
}

export interface RecordingReport {
  status: RecordingStatus;
  at: number;
  ok: boolean;
  detail?: string;
}

export interface CallContext {
  invite?: Invite;
  settings?: CallSettings;
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
  endedBy?: 'remote' | 'bot' | 'platform';
  resultInfo?: ResultInfo;
  failure?: Failure;
  /** Generation counter: every timer arm and effect gets the next value. */
  seq: number;
  /** The generation of each armed timer; a timer event of another generation is stale. */
  timers: Partial<Record<TimerId, number>>;
  recording: {
    /** Media may be written to disk: only between a confirmed `recording` and the stop. */
    persist: boolean;
    confirmedAt?: number;
    /**
     * The latest stop request: its generation (the media process echoes it in MEDIA.STOPPED),
     * when it was made, and when a media session confirmed it (absent while unconfirmed).
     */
    stop?: { gen: number; at: number; confirmedAt?: number };
    reports: RecordingReport[];
  };
  /** `goneAt`: when Graph first answered a keep-alive 404 (the call is gone on its side). */
  keepAlive: { sent: number; lastOkAt?: number; lastError?: string; goneAt?: number };
  /** What the media process last said (it may speak before establishment). */
  media: { connected: boolean; flowing: boolean; lost?: number; lastFault?: string };
  roster: {
    participants: Record<string, Participant>;
    /** sourceId (MSI) → participant id, for the media process. */
    sources: Record<string, string>;
    /** Highest rosterSequenceNumber applied. */
    seq: number;
    /** Participants who left → the sequence number of their removal (bounded). */
    left: Record<string, number>;
    /** Every presence, present and past, oldest first (bounded: oldest closed ones go first). */
    history: ParticipantStint[];
    /** Participants not kept because the per-call cap was reached, and history entries shed. */
    dropped: number;
  };
  /** States entered, with the event time: the call's visible history (bounded). */
  trail: Array<[string, number]>;
}

/**
 * The effects the machine asks for, with their params: executed by workers, never by the
 * machine. Each Graph request carries the generation that keys its job and a `deadlineAt` after
 * which nothing is sent.
 */
interface GraphEffectBase {
  callId: string;
  tenantId: string;
  /** Nothing is sent after this time. */
  deadlineAt: number;
  gen: number;
}
/** The params of each Graph operation, by operation name (`graph.<op>` is its effect). */
export interface GraphEffects {
  answer: GraphEffectBase;
  reject: GraphEffectBase & { reason: RejectReason };
  updateRecordingStatus: GraphEffectBase & {
    recordingStatus: RecordingStatus;
    clientContext: string;
  };
  keepAlive: GraphEffectBase;
  hangUp: GraphEffectBase;
}
export type GraphOp = keyof GraphEffects;
export interface TimerEffect {
  timerId: TimerId;
  gen: number;
  fireAt: number;
  event: TimerEventType;
}
export interface TimerCancelEffect {
  timerId: TimerId;
  gen: number;
}

/** Every effect by its action name: the one list the machine, the job table and tests share. */
export type EffectParams = { [K in GraphOp as `graph.${K}`]: GraphEffects[K] } & {
  'timer.start': TimerEffect;
  'timer.cancel': TimerCancelEffect;
};
export type EffectType = keyof EffectParams;
/** One effect as the machine enqueues it and `transition()` returns it: a name and its params. */
export type CallEffect = { [K in EffectType]: { type: K; params: EffectParams[K] } }[EffectType];
