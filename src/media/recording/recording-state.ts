/**
 * What a manifest says about a recording, read back: where each track stands (to continue it
 * after another process died), its gaps, and the result of a finalize that already happened
 * (so finalize() answers the same thing in any process). Pure.
 */
import { join } from 'node:path';
import type { AudioTrackState } from './audio-timeline.js';
import { isAudioTrack, MANIFEST } from './layout.js';
import type { FinalizedEntry, ManifestEntry, SegmentEntry, SpeakersEntry } from './manifest.js';
import { FRAME_MS, type AudioTrack, type FinalizedRecording, type Gap } from './types.js';
import type { VideoTrackState } from './video-timeline.js';

export interface RestoredState {
  audio: Map<AudioTrack, AudioTrackState>;
  video: Map<number, VideoTrackState>;
  finalized: FinalizedEntry | undefined;
}

export function segmentsOf(entries: ManifestEntry[]): SegmentEntry[] {
  return entries.filter((e): e is SegmentEntry => e.type === 'segment');
}

export function gapsOf(entries: ManifestEntry[]): Gap[] {
  return entries.flatMap((e) =>
    e.type === 'gap'
      ? [
          {
            ...(e.track === undefined ? {} : { track: e.track }),
            from: e.from,
            to: e.to,
            reason: e.reason,
          },
        ]
      : [],
  );
}

/** Segments grouped by kind and track, each group in sequence order. */
export function groupSegments(entries: ManifestEntry[]): {
  audio: Map<AudioTrack, SegmentEntry[]>;
  video: Map<string, SegmentEntry[]>;
} {
  const audio = new Map<AudioTrack, SegmentEntry[]>();
  const video = new Map<string, SegmentEntry[]>();
  for (const s of segmentsOf(entries)) {
    if (s.kind === 'audio' && isAudioTrack(s.track)) push(audio, s.track, s);
    else if (s.kind === 'video') push(video, s.track, s);
  }
  for (const list of [...audio.values(), ...video.values()]) list.sort((a, b) => a.seq - b.seq);
  return { audio, video };
}

export function restoreState(entries: ManifestEntry[]): RestoredState {
  const groups = groupSegments(entries);
  const audio = new Map<AudioTrack, AudioTrackState>();
  for (const [track, list] of groups.audio) {
    // The first segment starts at the track's first frame: slot 0 of its grid.
    const origin = list.reduce((m, s) => Math.min(m, s.startTimestamp), Infinity);
    const end = list.reduce((m, s) => Math.max(m, s.endTimestamp), -Infinity);
    audio.set(track, {
      origin,
      nextSlot: Math.round((end - origin) / FRAME_MS),
      nextSeq: lastSeq(list) + 1,
    });
  }
  const video = new Map<number, VideoTrackState>();
  for (const [track, list] of groups.video) {
    video.set(Number(track.slice('src-'.length)), {
      lastTimestamp: list.reduce((m, s) => Math.max(m, s.endTimestamp), -Infinity),
      nextSeq: lastSeq(list) + 1,
    });
  }
  const finalized = entries.find((e): e is FinalizedEntry => e.type === 'finalized');
  return { audio, video, finalized };
}

export function finalizedResult(
  dir: string,
  entries: ManifestEntry[],
): FinalizedRecording | undefined {
  const entry = entries.find((e): e is FinalizedEntry => e.type === 'finalized');
  if (!entry) return undefined;
  const wav: Record<string, string> = {};
  const video: Record<string, string> = {};
  for (const f of entry.files) (f.kind === 'audio' ? wav : video)[f.track] = join(dir, f.file);
  return {
    dir,
    wav,
    video,
    manifest: join(dir, MANIFEST),
    gaps: gapsOf(entries),
    startTimestamp: entry.startTimestamp,
    speakers: entry.speakers ?? [],
  };
}

/** The `speakers` entries, in manifest order. */
export function speakerSnapshots(entries: ManifestEntry[]): SpeakersEntry[] {
  return entries.filter((e): e is SpeakersEntry => e.type === 'speakers');
}

/** Lists are sorted by seq; never empty (a group exists because it has a segment). */
function lastSeq(list: SegmentEntry[]): number {
  return list.at(-1)?.seq ?? 0;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
