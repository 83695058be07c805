/**
 * One audio track's frames on its own 20 ms grid, cut into segments. Pure: it decides what a
 * segment holds; the recording writes it.
 *
 * A frame goes to slot `round((timestamp - origin) / 20)`, `origin` being the track's first
 * timestamp ever (kept across processes through the first segment's start). A slot at or
 * before the last one taken is late. A hole inside one process is silence, so byte offset ↔
 * time holds; a hole over 1 s is also listed as a `silence-fill` gap. The first frame after a
 * continue is not filled: the hole is what a crash lost, listed as a `discontinuity` gap, and
 * finalize() fills it in the WAV. Gaps are handed out with the segment that holds the frame
 * after them, so a gap is listed only once that frame is on disk.
 */
import { FRAME_BYTES, FRAME_MS, type AudioTrack, type Gap } from './types.js';

/** Inner holes longer than this are listed as gaps as well as filled. */
const LISTED_FILL_MS = 1000;

export interface AudioSegment {
  track: AudioTrack;
  seq: number;
  startTimestamp: number;
  endTimestamp: number;
  frames: number;
  /** Frames the caller gave (the rest is silence fill). */
  callerFrames: number;
  /** The caller's non-silent PCM, by frame offset inside the segment; the rest is zeros. */
  parts: Array<{ offset: number; pcm: Buffer }>;
  gaps: Gap[];
}

/** What a continued recording knows of a track from its sealed segments. */
export interface AudioTrackState {
  origin: number;
  /** The slot after the last sealed frame. */
  nextSlot: number;
  nextSeq: number;
}

export class AudioTimeline {
  private origin: number | undefined;
  private nextSlot = 0;
  private nextSeq = 1;
  private continued = false;
  /** Slot of the first buffered frame; -1 when nothing is buffered. */
  private bufStart = -1;
  private parts: AudioSegment['parts'] = [];
  private callerFrames = 0;
  private pendingGaps: Gap[] = [];

  constructor(
    readonly track: AudioTrack,
    private readonly segmentFrames: number,
    restored?: AudioTrackState,
  ) {
    if (restored) {
      ({ origin: this.origin, nextSlot: this.nextSlot, nextSeq: this.nextSeq } = restored);
      this.continued = true;
    }
  }

  /** Takes one frame; returns the segments it completed, or 'late'. */
  push(timestamp: number, pcm: Buffer | null): AudioSegment[] | 'late' {
    this.origin ??= timestamp;
    const slot = Math.round((timestamp - this.origin) / FRAME_MS);
    if (slot < this.nextSlot) return 'late';
    const done: AudioSegment[] = [];
    if (slot > this.nextSlot) {
      const gap = { track: this.track, from: this.at(this.nextSlot), to: this.at(slot) };
      if (this.continued) {
        this.pendingGaps.push({ ...gap, reason: 'discontinuity' });
        this.nextSlot = slot;
      } else {
        if (gap.to - gap.from > LISTED_FILL_MS) {
          this.pendingGaps.push({ ...gap, reason: 'silence-fill' });
        }
        this.fillTo(slot, done);
      }
    }
    this.continued = false;
    if (this.bufStart < 0) this.bufStart = slot;
    if (pcm) this.parts.push({ offset: slot - this.bufStart, pcm });
    this.callerFrames += 1;
    this.nextSlot = slot + 1;
    if (this.nextSlot - this.bufStart >= this.segmentFrames) done.push(this.cut()!);
    return done;
  }

  /** Cuts what is buffered into a segment (flush, or the track went idle). */
  cut(): AudioSegment | undefined {
    if (this.bufStart < 0) return undefined;
    const startTimestamp = this.at(this.bufStart);
    const endTimestamp = this.at(this.nextSlot);
    const gaps = this.pendingGaps.filter((g) => g.to < endTimestamp);
    this.pendingGaps = this.pendingGaps.filter((g) => g.to >= endTimestamp);
    const segment: AudioSegment = {
      track: this.track,
      seq: this.nextSeq,
      startTimestamp,
      endTimestamp,
      frames: this.nextSlot - this.bufStart,
      callerFrames: this.callerFrames,
      parts: this.parts,
      gaps,
    };
    this.nextSeq += 1;
    this.bufStart = -1;
    this.parts = [];
    this.callerFrames = 0;
    return segment;
  }

  /** Where the buffered media ends (ms), or undefined when nothing is buffered. */
  get bufferedEnd(): number | undefined {
    return this.bufStart < 0 ? undefined : this.at(this.nextSlot);
  }

  /** Silence up to `slot`, one segment at a time, so a long hole never sits in memory. */
  private fillTo(slot: number, done: AudioSegment[]): void {
    while (this.nextSlot < slot) {
      if (this.bufStart < 0) this.bufStart = this.nextSlot;
      const room = this.bufStart + this.segmentFrames - this.nextSlot;
      this.nextSlot += Math.min(room, slot - this.nextSlot);
      if (this.nextSlot - this.bufStart >= this.segmentFrames) done.push(this.cut()!);
    }
  }

  private at(slot: number): number {
    return (this.origin ?? 0) + slot * FRAME_MS;
  }
}

/** The segment's bytes: zeros with the caller's PCM laid in at its offsets. */
export function renderAudio(segment: AudioSegment): Buffer {
  const data = Buffer.alloc(segment.frames * FRAME_BYTES);
  for (const { offset, pcm } of segment.parts) pcm.copy(data, offset * FRAME_BYTES);
  return data;
}
