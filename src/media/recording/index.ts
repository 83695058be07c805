/**
 * The recording store of the media process: what cr-media/1 carries (docs/media-protocol.md),
 * stored crash-consistently in `${RECORDINGS_DIR}/${callId}/` as fsynced segments listed in a
 * hash-chained manifest, finalized into WAV and H.264 files, and checkable by anyone with
 * verifyRecording (or `npm run verify -- <dir>`).
 */
export { openRecording } from './recording.js';
export { verifyRecording } from './verify.js';
export { RecordingError } from './recording-error.js';
export { describeSpeakers } from './speakers.js';
export type {
  AudioTrack,
  FinalizedRecording,
  Gap,
  Recording,
  RecordingOptions,
  RecordingStats,
  SourceSpeakers,
  SpeakerMap,
  SpeakerOwner,
  VerifyResult,
} from './types.js';
