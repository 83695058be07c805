/**
 * Participant objects and roster notifications shaped like docs/teams-protocol.md#roster: identities by kind
 * (Teams users under `user` with a tenant, guests under `guest` without one, PSTN under `phone`,
 * bots under `application` plus a `guest` of their own, as bots in meetings appear, the
 * recorder under `applicationInstance`), media streams with MSIs and directions.
 */
import { randomUUID } from 'node:crypto';
import { cased, type Casing } from './payloads.js';
import type {
  SimIdentity,
  SimIdentitySet,
  SimMediaStream,
  SimParticipant,
  SimParticipantInput,
} from './types.js';

/** A participant as the roster stores it; the rest is stamped when it is shown. */
export type Member = Omit<SimParticipant, 'rosterSequenceNumber' | 'recordingInfo'>;

export interface MemberIds {
  participantId: string;
  /** The call's tenant, the default for 'user'. */
  tenantId: string;
  /** Next fresh MSI of the call. */
  nextSourceId(): string;
  /** Makes default display names and phone numbers distinct. */
  serial: number;
}

const identity = (id: string, displayName?: string, tenantId?: string): SimIdentity => ({
  '@odata.type': '#microsoft.graph.identity',
  id,
  ...(displayName !== undefined && { displayName }),
  ...(tenantId !== undefined && { tenantId }),
});

// Ofcom's drama range (020 7946 0000–0999): never a real subscriber.
const fictionalPhone = (serial: number): string =>
  `+4420794600${String(serial % 100).padStart(2, '0')}`;

function identitySetFor(input: SimParticipantInput, ids: MemberIds): SimIdentitySet {
  // communicationsIdentitySet is the identitySet subtype that has guest/phone/applicationInstance.
  const set: SimIdentitySet = { '@odata.type': '#microsoft.graph.communicationsIdentitySet' };
  const id = input.id ?? randomUUID();
  switch (input.kind) {
    case 'user':
      set.user = identity(
        id,
        input.displayName ?? `Simulated User ${ids.serial}`,
        input.tenantId ?? ids.tenantId,
      );
      break;
    case 'guest':
      set.guest = identity(id, input.displayName ?? `Guest ${ids.serial}`);
      break;
    case 'phone':
      set.phone = identity(input.phoneNumber ?? fictionalPhone(ids.serial));
      break;
    case 'application':
      // the app id is the same for every instance of a bot; the guest id tells them apart
      set.application = identity(id, input.displayName ?? `Simulated App ${ids.serial}`);
      set.guest = identity(randomUUID(), input.displayName ?? `Simulated App ${ids.serial}`);
      break;
  }
  return set;
}

const stream = (
  mediaType: SimMediaStream['mediaType'],
  direction: SimMediaStream['direction'],
  sourceId: string,
  serverMuted = false,
): SimMediaStream => ({
  '@odata.type': '#microsoft.graph.mediaStream',
  mediaType,
  sourceId,
  direction,
  serverMuted,
});

export function newMember(input: SimParticipantInput, ids: MemberIds): Member {
  const streams = [stream('audio', 'sendReceive', ids.nextSourceId(), input.serverMuted)];
  if (input.video) streams.push(stream('video', 'sendReceive', ids.nextSourceId()));
  if (input.screenShare) {
    streams.push(stream('videoBasedScreenSharing', 'sendOnly', ids.nextSourceId()));
  }
  if (input.receiveVideo) streams.push(stream('video', 'receiveOnly', ids.nextSourceId()));
  return {
    '@odata.type': '#microsoft.graph.participant',
    id: ids.participantId,
    info: {
      '@odata.type': '#microsoft.graph.participantInfo',
      identity: identitySetFor(input, ids),
      ...(input.kind !== 'application' && { languageId: 'en-US' }),
    },
    mediaStreams: streams,
    isMuted: input.muted ?? false,
    isInLobby: input.inLobby ?? false,
  };
}

/** The recording bot itself: its application instance, with one audio stream. */
export function botMember(
  participantId: string,
  appInstanceId: string,
  tenantId: string,
  sourceId: string,
): Member {
  return {
    '@odata.type': '#microsoft.graph.participant',
    id: participantId,
    info: {
      '@odata.type': '#microsoft.graph.participantInfo',
      identity: {
        '@odata.type': '#microsoft.graph.communicationsIdentitySet',
        applicationInstance: identity(appInstanceId, 'Compliance Recorder', tenantId),
      },
    },
    mediaStreams: [stream('audio', 'sendReceive', sourceId)],
    isMuted: false,
    isInLobby: false,
  };
}

export interface RosterNotice {
  callId: string;
  change: 'updated' | 'deleted';
  casing: Casing;
  callbackUri: string;
  participants: SimParticipant[];
}

/**
 * The documented roster envelope (docs/teams-protocol.md#roster): the participants collection, an
 * array.
 */
export function rosterNotification(n: RosterNotice): Record<string, unknown> {
  return {
    '@odata.type': '#microsoft.graph.commsNotifications',
    value: [
      {
        '@odata.type': '#microsoft.graph.commsNotification',
        changeType: cased(n.change, n.casing),
        resourceUrl: `/communications/calls/${n.callId}/participants`,
        callbackUri: n.callbackUri,
        resourceData: n.participants,
      },
    ],
  };
}
