import type { SourceSpeakers, SpeakerMap } from './speakers.js';

export type { SourceSpeakers, SpeakerMap, SpeakerOwner } from './speakers.js';

/**
 * The shapes that cross the folder boundary, and the audio format of cr-media/1
 * (docs/media-protocol.md: 20 ms frames, 16 kHz, 16-bit little-endian, mono).
 */

/** `mixed`, or `src-<sourceId>`: one unmixed speaker, named by its MSI. */
export type AudioTrack = 'mixed' | `src-${number}`;

export const FRAME_MS = 20;
export const FRAME_BYTES = 640;
export const SAMPLE_RATE = 16_000;
export const SAMPLES_PER_MS = SAMPLE_RATE / 1000;

export interface RecordingOptions {
  /** `RECORDINGS_DIR`; the call's directory is created inside it. */
  rootDir: string;
  /** The directory name; must match `/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/` so it stays in rootDir. */
  callId: string;
  /** Media time per segment, per track: the most a crash can lose. @default 2000 */
  segmentMs?: number;
  /** fsync segment files, directories and the manifest. @default true */
  fsync?: boolean;
  /** Told of every gap once the manifest lists it (metrics); must not throw. */
  onGap?: (gap: Gap) => void;
}

export interface RecordingStats {
  /** Frames the caller gave (audio and video) that are now in sealed segments. */
  framesWritten: number;
  /** Frames older than (or at the same slot as) what their track already holds. */
  framesDroppedLate: number;
  /** Bytes of sealed segment files, silence fill included. */
  bytesWritten: number;
  segmentsSealed: number;
}

export interface Gap {
  track?: AudioTrack;
  from: number;
  to: number;
  reason: string;
}

export interface FinalizedRecording {
  dir: string;
  /** Absolute paths of `final/<track>.wav`, all on one timeline starting at `startTimestamp`. */
  wav: Record<AudioTrack, string>;
  /** Absolute paths of `final/video-src-<id>.h264`, keyed `src-<id>`. */
  video: Record<string, string>;
  manifest: string;
  gaps: Gap[];
  /** Sender time (ms) of sample 0 of every WAV: the earliest audio timestamp of the call. */
  startTimestamp: number;
  /** Who owned each unmixed source over which intervals ([] when no roster was recorded). */
  speakers: SourceSpeakers[];
}

export interface Recording {
  readonly dir: string;
  /** One 20 ms frame (640 bytes); `null` is a silence frame. */
  writeAudio(track: AudioTrack, timestamp: number, pcm: Buffer | null): Promise<void>;
  /** One H.264 Annex-B access unit. */
  writeVideo(sourceId: number, timestamp: number, data: Buffer, keyframe: boolean): Promise<void>;
  noteGap(from: number, to: number, reason: string, track?: AudioTrack): Promise<void>;
  /** Who owns which source id from `at` on (the whole map, each time it changes). */
  noteSpeakers(at: number, sources: SpeakerMap): Promise<void>;
  /** Seal every open segment now. */
  flush(): Promise<void>;
  /**
   * Flush and stop: this object takes nothing more (finalize() included); another
   * `openRecording` may continue or finalize the recording. Memoized.
   */
  close(): Promise<void>;
  /** Flush, write the final WAV/H.264 files and seal the manifest. Memoized and idempotent. */
  finalize(): Promise<FinalizedRecording>;
  readonly stats: RecordingStats;
}

export interface VerifyResult {
  ok: boolean;
  /** Human-readable; empty when `ok`. */
  problems: string[];
  segments: number;
  gaps: Gap[];
  finalized: boolean;
  /** Files on disk no manifest entry lists (a crash between write and append): not errors. */
  orphans: string[];
  /** Harmless findings, e.g. a torn last manifest line left by a crash. */
  notes: string[];
  /** The finalized entry's attribution of every unmixed source ([] when none). */
  speakers: SourceSpeakers[];
}
