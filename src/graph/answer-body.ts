/**
 * The body of `POST …/answer` (docs/teams-protocol.md#answer). The app-hosted media blob names our
 * media endpoint and carries the call's single-use media credential (docs/media-protocol.md).
 */
import type { Modality } from '../config.js';
import type { MediaCredentials } from '../media/credentials.js';
import type { AnswerBody } from './calls.js';

export interface AnswerBodyOptions {
  /** Where Teams sends this call's notifications. */
  callbackUri: string;
  mediaHost: string;
  mediaPort: number;
  participantCapacity: number;
  credentials: MediaCredentials;
  /** Ask for delta roster notifications instead of full rosters. */
  deltaRoster?: boolean;
  /** `acceptedModalities`; the credential carries them, so the media process enforces them. @default ['audio'] */
  modalities?: readonly Modality[];
}

export const MEDIA_BLOB_PROTOCOL = 'cr-media/1';

export function buildAnswerBody(
  callId: string,
  options: AnswerBodyOptions,
  now: number,
): AnswerBody {
  const modalities = options.modalities ?? ['audio'];
  const blob = JSON.stringify({
    protocol: MEDIA_BLOB_PROTOCOL,
    mpUri: `tls://${options.mediaHost}:${options.mediaPort}`,
    callId,
    credential: options.credentials.mintCall(callId, now, undefined, modalities),
    supportedAudioFormat: 'Pcm16K',
  });
  return {
    callbackUri: options.callbackUri,
    acceptedModalities: [...modalities],
    mediaConfig: { '@odata.type': '#microsoft.graph.appHostedMediaConfig', blob },
    participantCapacity: options.participantCapacity,
    ...(options.deltaRoster ? { callOptions: { isDeltaRosterEnabled: true } } : {}),
  };
}
