/**
 * Notification bodies shaped like the P2P and meeting invites of docs/teams-protocol.md#payloads
 * and the state updates and terminations of docs/teams-protocol.md#call-states. Ids are fresh GUIDs
 * per call. The 'real' casing reproduces the capitalised enum strings of captured payloads
 * ("Updated", "Terminated", "Default", docs/teams-protocol.md#payloads).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { ResultInfo, SimCallState } from './types.js';

export type Casing = 'docs' | 'real';
export type ChangeType = 'created' | 'updated' | 'deleted';
type Json = Record<string, unknown>;

export interface InviteInput {
  callId: string;
  kind: 'p2p' | 'meeting';
  tenantId: string;
  userId: string;
  /**
   * The bot's global webhook, echoed as the call's `callbackUri`
   * (microsoftgraph/microsoft-graph-comms-samples#414).
   */
  webhookUrl: string;
  /** Object id of the recording application instance (the invite's target). */
  appInstanceId: string;
  casing: Casing;
}

export interface Invite {
  body: Json;
  /** The call resource of the invite, the base of every later state notification. */
  resource: Json;
  callChainId: string;
  /** Ids the invite announced, which the initial roster must reuse. */
  parties: InviteParties;
}

export interface InviteParties {
  appInstanceId: string;
  /** `myParticipantId`: the bot's own participant. */
  botParticipantId: string;
  /** `incomingContext.observedParticipantId`: the recorded user. */
  userParticipantId: string;
  /** P2P only: `botData.otherSideUser`. */
  otherSide?: { userId: string; participantId: string };
}

/** Capitalise an enum string in 'real' casing mode. */
export function cased(value: string, casing: Casing): string {
  return casing === 'real' ? value.charAt(0).toUpperCase() + value.slice(1) : value;
}

// The meeting token is opaque to bots (docs/teams-protocol.md#payloads); random bytes keep
// anyone from parsing it.
const opaqueToken = (): string => `eyJ${randomBytes(96).toString('base64url')}`;

export function buildInvite(input: InviteInput): Invite {
  const { callId, tenantId, userId, casing } = input;
  const callChainId = randomUUID();
  const sourceParticipantId = randomUUID();
  const endpointType = cased('default', casing);
  const p2p = input.kind === 'p2p';
  const myParticipantId = randomUUID();
  const otherSide = p2p ? { userId: randomUUID(), participantId: randomUUID() } : undefined;
  const botData: Json = {
    callId: callChainId,
    mediaHostedRegion: p2p ? 'USEA' : 'JPWE',
    user: {
      participationMethod: p2p ? 'Callee' : 'DialOut',
      policyHolderId: `8:orgid:${userId}`,
      policyHolderTenantId: tenantId,
    },
    ...(otherSide && {
      otherSideUser: {
        id: `8:orgid:${otherSide.userId}`,
        participantId: otherSide.participantId,
        tenantId,
        participationMethod: 'Caller',
      },
    }),
    inviteReasons: ['ComplianceRecording'],
    policyIdentifier: 'TeamsComplianceRecordingPolicy=Tenant:SimulatorPolicy',
    pairedRecorders: [],
    otherRecorders: [],
    isMultiParty: true,
    applicationType: null,
  };
  const resource: Json = {
    '@odata.type': '#microsoft.graph.call',
    id: callId,
    state: cased('incoming', casing),
    direction: cased('incoming', casing),
    callbackUri: input.webhookUrl,
    source: {
      '@odata.type': '#microsoft.graph.participantInfo',
      id: sourceParticipantId,
      identity: {
        '@odata.type': '#microsoft.graph.identitySet',
        user: { '@odata.type': '#microsoft.graph.identity', id: userId, tenantId },
      },
      endpointType,
      region: p2p ? 'amer' : 'apac',
      ...(p2p && { countryCode: 'US' }),
    },
    targets: [
      {
        '@odata.type': '#microsoft.graph.invitationParticipantInfo',
        identity: {
          '@odata.type': '#microsoft.graph.identitySet',
          applicationInstance: {
            '@odata.type': '#microsoft.graph.identity',
            id: input.appInstanceId,
            tenantId,
          },
        },
        endpointType,
        id: randomUUID(),
      },
    ],
    requestedModalities: ['audio', 'video', 'videoBasedScreenSharing'],
    ...(!p2p && {
      // Documented for group-call invites; never seen in a captured CR meeting invite
      // (docs/teams-protocol.md#payloads).
      chatInfo: {
        '@odata.type': '#microsoft.graph.chatInfo',
        threadId: `19:meeting_${randomBytes(24).toString('base64url')}@thread.v2`,
        messageId: '0',
      },
    }),
    meetingInfo: { '@odata.type': '#microsoft.graph.tokenMeetingInfo', token: opaqueToken() },
    tenantId,
    myParticipantId,
    callChainId,
    incomingContext: {
      '@odata.type': '#microsoft.graph.incomingContext',
      // For compliance recording the source is the observed (policy) user
      // (docs/teams-protocol.md#payloads).
      sourceParticipantId,
      observedParticipantId: sourceParticipantId,
    },
    applicationMetadata: { botData },
  };
  const parties: InviteParties = {
    appInstanceId: input.appInstanceId,
    botParticipantId: myParticipantId,
    userParticipantId: sourceParticipantId,
    otherSide,
  };
  return { body: envelope(callId, 'created', casing, resource), resource, callChainId, parties };
}

export interface StateUpdate {
  state: string;
  etag: number;
  callbackUri: string;
  result?: ResultInfo;
}

/**
 * A call-state notification carrying the full call object, as real payloads do
 * (docs/teams-protocol.md#call-states).
 */
export function stateNotification(
  resource: Json,
  change: ChangeType,
  casing: Casing,
  update: StateUpdate,
): Json {
  const id = String(resource.id);
  const data: Json = {
    ...resource,
    '@odata.id': `/communications/calls/${id}`,
    '@odata.etag': `W/"${update.etag}"`,
    state: cased(update.state, casing),
    callbackUri: update.callbackUri,
  };
  if (update.result) {
    data.resultInfo = { '@odata.type': '#microsoft.graph.resultInfo', ...update.result };
  }
  return envelope(id, change, casing, data);
}

/** Graph's callState for each simulator state (answered/rejected are simulator-only). */
const GRAPH_STATE: Record<SimCallState, string> = {
  invited: 'incoming',
  answered: 'establishing',
  rejected: 'terminated',
  establishing: 'establishing',
  established: 'established',
  terminating: 'terminating',
  terminated: 'terminated',
};

/**
 * The call as `GET /communications/calls/{id}` shows it (docs/teams-protocol.md#other-operations).
 */
export function callView(
  resource: Json,
  state: SimCallState,
  callbackUri: string,
  result?: ResultInfo,
): Json {
  return {
    ...resource,
    state: GRAPH_STATE[state],
    callbackUri,
    ...(result && { resultInfo: { '@odata.type': '#microsoft.graph.resultInfo', ...result } }),
  };
}

function envelope(callId: string, change: ChangeType, casing: Casing, resourceData: Json): Json {
  return {
    '@odata.type': '#microsoft.graph.commsNotifications',
    value: [
      {
        '@odata.type': '#microsoft.graph.commsNotification',
        changeType: cased(change, casing),
        resource: `/app/calls/${callId}`,
        resourceUrl: `/communications/calls/${callId}`,
        resourceData,
      },
    ],
  };
}

/**
 * End results (docs/teams-protocol.md#call-states table; the messages are illustrative except
 * 8544's).
 */
export const RESULTS = {
  deadlineMissed: { code: 408, subcode: 8544, message: 'Callee could not be reached.' },
  endedByBot: { code: 200, subcode: 7000, message: 'The call was ended by the application.' },
  rejected: { code: 200, subcode: 7000, message: 'The call was rejected by the application.' },
  remoteP2p: { code: 200, subcode: 4097, message: 'The other participant ended the call.' },
  remoteMeeting: { code: 200, subcode: 5002, message: 'The conversation has ended.' },
  keepAliveExpired: { code: 408, subcode: 8537, message: 'Call was cleaned up as inactive.' },
  mediaFailed: { code: 410, subcode: 301005, message: 'Client Media Error.' },
  mediaConnectFailed: {
    code: 500,
    subcode: 1005,
    message: "The platform could not connect to the application's media.",
  },
} satisfies Record<string, ResultInfo>;
