/**
 * Public types of a call's lifecycle beyond its state: the roster (docs/teams-protocol.md#roster),
 * recording status bookkeeping (docs/teams-protocol.md#recording-status) and the user-side outcome
 * of the policy flags (docs/teams-protocol.md#policy-flags). Re-exported by `types.ts` and
 * `index.ts`; kept apart so neither file outgrows the ~300 lines CONTRIBUTING.md
 * asks for.
 */

/**
 * Recording application flags of the tenant's policy (docs/teams-protocol.md#policy-flags); all
 * default to true.
 */
export interface SimPolicy {
  /** P2P: the call is cancelled if the recorder fails to join. @default true */
  requiredBeforeCallEstablishment?: boolean;
  /** P2P: the call is cancelled if the recorder leaves or is dropped. @default true */
  requiredDuringCall?: boolean;
  /** Meeting: the user may not join if the recorder fails to join. @default true */
  requiredBeforeMeetingJoin?: boolean;
  /** Meeting: the user is ejected if the recorder leaves or is dropped. @default true */
  requiredDuringMeeting?: boolean;
}

/** What happened to the recorded user's own call or meeting attendance. */
export type SimUserOutcome =
  'pending' | 'recorded' | 'callCancelled' | 'userBlocked' | 'userEjected' | 'proceedsUnrecorded';

/** Why the user-side outcome changed. */
export type SimUserOutcomeReason =
  | 'established'
  | 'deadlineMissed'
  | 'rejected'
  | 'botHungUp'
  | 'keepAliveExpired'
  | 'mediaFailed'
  | 'mediaConnectFailed';

export interface SimUserEvent {
  at: number;
  outcome: Exclude<SimUserOutcome, 'pending'>;
  reason: SimUserOutcomeReason;
}

/** `participant.recordingInfo.recordingStatus` (docs/teams-protocol.md#roster). */
export type SimRecordingStatus = 'unknown' | 'notRecording' | 'recording' | 'failed';

/** One `updateRecordingStatus` request that named a known call, whatever its answer. */
export interface RecordingStatusUpdate {
  /** ms epoch when the simulator decided the answer. */
  at: number;
  /**
   * The status as canonical camel case when valid; otherwise what was sent ('' when missing,
   * JSON text when not a string).
   */
  status: string;
  clientContext?: string;
  /**
   * True when answered 200: only then may the bot persist media
   * (docs/teams-protocol.md#recording-status).
   */
  accepted: boolean;
  /** The HTTP status answered (400 invalid body, 401, 403 8506, 404 8522, injected faults…). */
  httpStatus: number;
}

/** A participant to add to the roster; identity ids and display names are made up if omitted. */
export interface SimParticipantInput {
  kind: 'user' | 'guest' | 'phone' | 'application';
  /** Identity id (user object id, guest id, app id). @default a random GUID */
  id?: string;
  displayName?: string;
  /** Tenant of a 'user'. @default the call's tenant */
  tenantId?: string;
  /** For 'phone': E.164, the identity's id. @default a fictional +44 20 7946 0xxx number */
  phoneNumber?: string;
  /** @default false */
  muted?: boolean;
  /** @default false */
  inLobby?: boolean;
  /** Adds a `video` stream (sendReceive). @default false */
  video?: boolean;
  /** Adds a `videoBasedScreenSharing` stream (sendOnly). @default false */
  screenShare?: boolean;
  /**
   * Adds a `video` stream the participant only receives (`receiveOnly`): its source id is not
   * the participant's media. @default false
   */
  receiveVideo?: boolean;
  /** The audio stream is `serverMuted`. @default false */
  serverMuted?: boolean;
}

export interface SimMediaStream {
  '@odata.type': '#microsoft.graph.mediaStream';
  mediaType: 'audio' | 'video' | 'videoBasedScreenSharing';
  /** The MSI, a decimal number as a string, unique within the call. */
  sourceId: string;
  direction: 'sendReceive' | 'sendOnly' | 'receiveOnly';
  serverMuted: boolean;
}

export interface SimIdentity {
  '@odata.type': '#microsoft.graph.identity';
  id: string;
  displayName?: string;
  tenantId?: string;
}

/** Exactly one member is set, by participant kind (the bot is an `applicationInstance`). */
export interface SimIdentitySet {
  '@odata.type': '#microsoft.graph.communicationsIdentitySet';
  user?: SimIdentity;
  guest?: SimIdentity;
  phone?: SimIdentity;
  application?: SimIdentity;
  applicationInstance?: SimIdentity;
}

/** A `participant` exactly as roster notifications carry it (docs/teams-protocol.md#roster). */
export interface SimParticipant {
  '@odata.type': '#microsoft.graph.participant';
  id: string;
  info: {
    '@odata.type': '#microsoft.graph.participantInfo';
    identity: SimIdentitySet;
    languageId?: string;
  };
  mediaStreams: SimMediaStream[];
  isMuted: boolean;
  isInLobby: boolean;
  /**
   * The roster sequence number of the notification that last changed this participant; absent
   * with `PlaceCallOptions.rosterSequenceNumbers: false`, as in most real traffic.
   */
  rosterSequenceNumber?: number;
  /** The bot's last accepted `updateRecordingStatus` for the call; 'unknown' before any. */
  recordingInfo: { recordingStatus: SimRecordingStatus };
}
