/**
 * The body of `POST …/answer` (teams-protocol §4.1). The app-hosted media blob names the media
 * endpoint; until the media process exists (issue 4) it is a placeholder that says so, carrying
 * the endpoint and the call id but no credential.
 */
import type { AnswerBody } from './calls.js';

export interface AnswerBodyOptions {
  /** Where Teams sends this call's notifications. */
  callbackUri: string;
  mediaHost: string;
  mediaPort: number;
  participantCapacity: number;
  /** Ask for delta roster notifications instead of full rosters. */
  deltaRoster?: boolean;
}

export const MEDIA_BLOB_PLACEHOLDER_VERSION = 'cr-media/0-placeholder';

export function buildAnswerBody(callId: string, options: AnswerBodyOptions): AnswerBody {
  const blob = JSON.stringify({
    protocol: MEDIA_BLOB_PLACEHOLDER_VERSION,
    mpUri: `tls://${options.mediaHost}:${options.mediaPort}`,
    callId,
    supportedAudioFormat: 'Pcm16K',
  });
  return {
    callbackUri: options.callbackUri,
    acceptedModalities: ['audio'],
    mediaConfig: { '@odata.type': '#microsoft.graph.appHostedMediaConfig', blob },
    participantCapacity: options.participantCapacity,
    ...(options.deltaRoster ? { callOptions: { isDeltaRosterEnabled: true } } : {}),
  };
}
