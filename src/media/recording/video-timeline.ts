/**
 * One video source's access units, cut into segments by media time. Pure, like the audio
 * timeline. Video has no grid: frames keep their own timestamps (in the segment's index), a
 * frame older than the last one taken is late, and a segment's `endTimestamp` is its last
 * frame's timestamp.
 */
import type { VideoIndexRow } from './manifest.js';

export interface VideoSegment {
  sourceId: number;
  seq: number;
  startTimestamp: number;
  endTimestamp: number;
  data: Buffer;
  index: VideoIndexRow[];
}

export interface VideoTrackState {
  lastTimestamp: number;
  nextSeq: number;
}

interface VideoFrame {
  timestamp: number;
  data: Buffer;
  keyframe: boolean;
}

export class VideoTimeline {
  private lastTimestamp = -Infinity;
  private nextSeq = 1;
  private frames: VideoFrame[] = [];

  constructor(
    readonly sourceId: number,
    private readonly segmentMs: number,
    restored?: VideoTrackState,
  ) {
    if (restored) ({ lastTimestamp: this.lastTimestamp, nextSeq: this.nextSeq } = restored);
  }

  /** Takes one access unit; returns the segment it closed, if any, or 'late'. */
  push(timestamp: number, data: Buffer, keyframe: boolean): VideoSegment[] | 'late' {
    if (timestamp < this.lastTimestamp) return 'late';
    const first = this.frames[0];
    const done = first && timestamp - first.timestamp >= this.segmentMs ? [this.cut()!] : [];
    this.frames.push({ timestamp, data, keyframe });
    this.lastTimestamp = timestamp;
    return done;
  }

  cut(): VideoSegment | undefined {
    const first = this.frames[0];
    const last = this.frames.at(-1);
    if (!first || !last) return undefined;
    const index: VideoIndexRow[] = [];
    let offset = 0;
    for (const f of this.frames) {
      index.push([f.timestamp - first.timestamp, offset, f.keyframe ? 1 : 0]);
      offset += f.data.length;
    }
    const segment: VideoSegment = {
      sourceId: this.sourceId,
      seq: this.nextSeq,
      startTimestamp: first.timestamp,
      endTimestamp: last.timestamp,
      data: Buffer.concat(this.frames.map((f) => f.data)),
      index,
    };
    this.nextSeq += 1;
    this.frames = [];
    return segment;
  }

  get bufferedEnd(): number | undefined {
    return this.frames.at(-1)?.timestamp;
  }
}
