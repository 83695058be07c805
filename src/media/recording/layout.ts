/**
 * Every name inside a call's recording directory is built here (as Redis keys are in one
 * module), so the writer, finalize and verify cannot disagree about where a file lives.
 *
 * ```
 * <rootDir>/<callId>/manifest.jsonl
 *                    tracks/<mixed|src-N>/<seq 6 digits>.pcm   raw s16le 16 kHz mono
 *                    video/src-N/<seq 6 digits>.h264           Annex-B access units
 *                    final/<track>.wav, final/video-src-N.h264  written by finalize()
 * ```
 */
import type { AudioTrack } from './types.js';

export const MANIFEST = 'manifest.jsonl';
export const FINAL_DIR = 'final';
export const CALL_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export type SegmentKind = 'audio' | 'video';

const MAX_SOURCE_ID = 0xffff_ffff; // a u32 on the wire
const TRACK_PATTERN = /^(?:mixed|src-(0|[1-9][0-9]{0,9}))$/;

export function isSourceId(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= MAX_SOURCE_ID;
}

export function isAudioTrack(s: unknown): s is AudioTrack {
  if (typeof s !== 'string') return false;
  const m = TRACK_PATTERN.exec(s);
  return m !== null && (m[1] === undefined || isSourceId(Number(m[1])));
}

/** The track name of a video source; video and audio of one MSI share it, `kind` tells them apart. */
export function videoTrack(sourceId: number): string {
  return `src-${sourceId}`;
}

export function segmentFile(kind: SegmentKind, track: string, seq: number): string {
  const name = String(seq).padStart(6, '0');
  return kind === 'audio' ? `tracks/${track}/${name}.pcm` : `video/${track}/${name}.h264`;
}

export function segmentDir(kind: SegmentKind, track: string): string {
  return kind === 'audio' ? `tracks/${track}` : `video/${track}`;
}

export function finalFile(kind: SegmentKind, track: string): string {
  return kind === 'audio' ? `${FINAL_DIR}/${track}.wav` : `${FINAL_DIR}/video-${track}.h264`;
}

/** The directories whose files are segments (verify reports unlisted ones as orphans). */
export const SEGMENT_ROOTS = ['tracks', 'video'] as const;
