/**
 * openRecording(): the crash-consistent store of one call's media.
 *
 * - Each track's timeline buffers at most one segment (`segmentMs` of media time) in memory.
 *   A track that stops receiving frames for `segmentMs` while others go on is sealed too, so a
 *   quiet speaker's last words do not wait in memory for the end of the call.
 * - Sealing = the segment file in one write + fsync, its directory fsynced, then the chained
 *   manifest entry appended + fsynced. The manifest never lists a file that is not fully on
 *   disk; a crash loses only what was buffered, and a file written but not yet listed is an
 *   orphan that nothing reads.
 * - Every call is queued on one promise chain, so entries keep their order however the caller
 *   interleaves awaits; a frame arriving while the chain is idle, with nothing to seal, is added
 *   at once (the same order, without a step).
 * - The first fs failure poisons the recording: every later call rejects with that same
 *   RecordingError (`code` 'ENOSPC' = disk full), so the caller reports the fault.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { AudioTimeline, type AudioSegment } from './audio-timeline.js';
import { ensureDir } from './durable-fs.js';
import { finalizeRecording } from './finalize.js';
import { CALL_ID_PATTERN, isAudioTrack, isSourceId } from './layout.js';
import { ManifestLog } from './manifest-log.js';
import { asRecordingError, RecordingError } from './recording-error.js';
import { restoreState, type RestoredState } from './recording-state.js';
import { SegmentWriter } from './segment-writer.js';
import { SpeakerMap } from './speakers.js';
import {
  FRAME_BYTES,
  FRAME_MS,
  type AudioTrack,
  type FinalizedRecording,
  type Gap,
  type Recording,
  type RecordingOptions,
  type RecordingStats,
} from './types.js';
import { VideoTimeline, type VideoSegment } from './video-timeline.js';

const DEFAULT_SEGMENT_MS = 2000;
/** What a frame added at once, with nothing to seal, returns. */
const ADDED: Promise<void> = Promise.resolve();

/** Creates `${rootDir}/${callId}/`, or continues the recording a previous process left there. */
export async function openRecording(options: RecordingOptions): Promise<Recording> {
  const { rootDir, callId } = options;
  if (!CALL_ID_PATTERN.test(callId)) throw invalid(`callId ${JSON.stringify(callId)}`);
  const segmentMs = options.segmentMs ?? DEFAULT_SEGMENT_MS;
  if (!Number.isFinite(segmentMs) || segmentMs < FRAME_MS) throw invalid(`segmentMs ${segmentMs}`);
  const fsync = options.fsync ?? true;
  const dir = resolve(rootDir, callId);
  await ensureDir(dir, fsync);
  const log = await ManifestLog.open(dir, fsync);
  const restored = restoreState(log.entries);
  // A finalized recording is read-only: opening it (to read its result) changes nothing.
  if (!restored.finalized) {
    await log.append({ type: 'open', at: Date.now(), pid: process.pid, host: hostname() });
  }
  return new FileRecording(dir, segmentMs, fsync, log, restored, options.onGap);
}

class FileRecording implements Recording {
  readonly stats: RecordingStats = {
    framesWritten: 0,
    framesDroppedLate: 0,
    bytesWritten: 0,
    segmentsSealed: 0,
  };
  private readonly audio = new Map<AudioTrack, AudioTimeline>();
  private readonly video = new Map<number, VideoTimeline>();
  private readonly writer: SegmentWriter;
  private tail: Promise<unknown> = Promise.resolve();
  /** Steps of the chain queued or running. */
  private queued = 0;
  private readonly sealAudio = (segment: AudioSegment) => this.writer.sealAudio(segment);
  private readonly sealVideo = (segment: VideoSegment) => this.writer.sealVideo(segment);
  private failure: RecordingError | undefined;
  private intake: 'open' | 'closed' | 'finalized';
  /** The latest media time seen on any track: how idle tracks are recognised. */
  private clock = -Infinity;
  private closing: Promise<void> | undefined;
  private finalizing: Promise<FinalizedRecording> | undefined;

  constructor(
    readonly dir: string,
    private readonly segmentMs: number,
    private readonly fsync: boolean,
    private readonly log: ManifestLog,
    private readonly restored: RestoredState,
    private readonly onGap: ((gap: Gap) => void) | undefined,
  ) {
    this.intake = restored.finalized ? 'finalized' : 'open';
    this.writer = new SegmentWriter(dir, fsync, log, this.stats, onGap);
  }

  writeAudio(track: AudioTrack, timestamp: number, pcm: Buffer | null): Promise<void> {
    if (!isAudioTrack(track)) return Promise.reject(invalid(`audio track ${String(track)}`));
    if (!Number.isFinite(timestamp)) return Promise.reject(invalid(`timestamp ${timestamp}`));
    if (pcm !== null && (!Buffer.isBuffer(pcm) || pcm.length !== FRAME_BYTES)) {
      return Promise.reject(
        invalid(`audio frame of ${pcm.length} bytes (${FRAME_BYTES} expected)`),
      );
    }
    // A copy: the caller's buffer may be a view into a socket chunk it reuses or keeps alive.
    const frame = pcm === null ? null : Buffer.from(pcm);
    return this.admit(
      timestamp,
      () => this.audioTimeline(track).push(timestamp, frame),
      this.sealAudio,
    );
  }

  writeVideo(sourceId: number, timestamp: number, data: Buffer, keyframe: boolean): Promise<void> {
    if (!isSourceId(sourceId)) return Promise.reject(invalid(`video source ${String(sourceId)}`));
    if (!Number.isFinite(timestamp)) return Promise.reject(invalid(`timestamp ${timestamp}`));
    if (!Buffer.isBuffer(data) || data.length === 0) {
      return Promise.reject(invalid('empty video access unit'));
    }
    const copy = Buffer.from(data);
    return this.admit(
      timestamp,
      () => this.videoTimeline(sourceId).push(timestamp, copy, keyframe),
      this.sealVideo,
    );
  }

  /**
   * Adds one frame to its timeline, then seals what that completed and the tracks it found
   * idle. While no step of the chain is queued or running, the frame is added at once and only
   * a sealing is queued, when there is one: most frames then cost no step of the chain (a
   * media process takes 50 per second per stream). Otherwise the frame waits its turn.
   */
  private admit<S>(
    timestamp: number,
    push: () => S[] | 'late',
    seal: (segment: S) => Promise<void>,
  ): Promise<void> {
    if (this.queued > 0 || this.intake !== 'open' || this.failure) {
      return this.enqueue(() => this.sealAfter(this.accept(push(), timestamp), seal));
    }
    let done: S[];
    try {
      done = this.accept(push(), timestamp);
    } catch (err) {
      this.failure = asRecordingError(err, `recording ${this.dir}`);
      return Promise.reject(this.failure);
    }
    if (done.length === 0 && !this.anyIdle()) return ADDED;
    return this.enqueue(() => this.sealAfter(done, seal));
  }

  /** A pushed frame's outcome: a late one counted, the clock advanced; the segments it completed. */
  private accept<S>(done: S[] | 'late', timestamp: number): S[] {
    if (done === 'late') {
      this.stats.framesDroppedLate += 1;
      return [];
    }
    this.clock = Math.max(this.clock, timestamp);
    return done;
  }

  private async sealAfter<S>(done: S[], seal: (segment: S) => Promise<void>): Promise<void> {
    for (const segment of done) await seal(segment);
    await this.sealIdle();
  }

  noteGap(from: number, to: number, reason: string, track?: AudioTrack): Promise<void> {
    if (!Number.isFinite(from) || !Number.isFinite(to) || to < from) {
      return Promise.reject(invalid(`gap ${from}..${to}`));
    }
    if (typeof reason !== 'string' || reason === '') return Promise.reject(invalid('gap reason'));
    if (track !== undefined && !isAudioTrack(track)) {
      return Promise.reject(invalid(`audio track ${String(track)}`));
    }
    return this.enqueue(async () => {
      await this.log.append({ type: 'gap', track, from, to, reason });
      this.onGap?.({ ...(track ? { track } : {}), from, to, reason });
    });
  }

  noteSpeakers(at: number, sources: SpeakerMap): Promise<void> {
    const parsed = SpeakerMap.safeParse(sources);
    if (!Number.isFinite(at) || !parsed.success) return Promise.reject(invalid('speaker map'));
    return this.enqueue(async () => {
      await this.log.append({ type: 'speakers', at, sources: parsed.data });
    });
  }

  flush(): Promise<void> {
    return this.enqueue(() => this.sealAll());
  }

  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  finalize(): Promise<FinalizedRecording> {
    this.finalizing ??= this.finalizeOnce();
    return this.finalizing;
  }

  private closeOnce(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    // After finalize() nothing is buffered and nothing more may be written: nothing to do.
    if (this.intake === 'finalized') return Promise.resolve();
    this.intake = 'closed';
    return this.serial(() => this.sealAll());
  }

  private finalizeOnce(): Promise<FinalizedRecording> {
    if (this.intake === 'closed') return Promise.reject(refused('ECLOSED', this.dir));
    this.intake = 'finalized';
    return this.serial(async () => {
      await this.sealAll();
      return finalizeRecording(this.dir, this.log, this.fsync);
    });
  }

  private enqueue<T>(step: () => Promise<T>): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.intake === 'closed') return Promise.reject(refused('ECLOSED', this.dir));
    if (this.intake === 'finalized') return Promise.reject(refused('EFINALIZED', this.dir));
    return this.serial(step);
  }

  private serial<T>(step: () => Promise<T>): Promise<T> {
    this.queued += 1;
    const run = async (): Promise<T> => {
      try {
        if (this.failure) throw this.failure;
        return await step();
      } catch (err) {
        this.failure = asRecordingError(err, `recording ${this.dir}`);
        throw this.failure;
      } finally {
        this.queued -= 1;
      }
    };
    const result = this.tail.then(run);
    this.tail = result.catch(() => undefined);
    return result;
  }

  private async sealAll(): Promise<void> {
    for (const timeline of this.audio.values()) {
      const segment = timeline.cut();
      if (segment) await this.writer.sealAudio(segment);
    }
    for (const timeline of this.video.values()) {
      const segment = timeline.cut();
      if (segment) await this.writer.sealVideo(segment);
    }
  }

  private anyIdle(): boolean {
    for (const timeline of this.audio.values()) if (this.isIdle(timeline.bufferedEnd)) return true;
    for (const timeline of this.video.values()) if (this.isIdle(timeline.bufferedEnd)) return true;
    return false;
  }

  private async sealIdle(): Promise<void> {
    for (const timeline of this.audio.values()) {
      const segment = this.isIdle(timeline.bufferedEnd) ? timeline.cut() : undefined;
      if (segment) await this.writer.sealAudio(segment);
    }
    for (const timeline of this.video.values()) {
      const segment = this.isIdle(timeline.bufferedEnd) ? timeline.cut() : undefined;
      if (segment) await this.writer.sealVideo(segment);
    }
  }

  private isIdle(bufferedEnd: number | undefined): boolean {
    return bufferedEnd !== undefined && this.clock - bufferedEnd >= this.segmentMs;
  }

  private audioTimeline(track: AudioTrack): AudioTimeline {
    let timeline = this.audio.get(track);
    if (!timeline) {
      const frames = Math.ceil(this.segmentMs / FRAME_MS);
      timeline = new AudioTimeline(track, frames, this.restored.audio.get(track));
      this.audio.set(track, timeline);
    }
    return timeline;
  }

  private videoTimeline(sourceId: number): VideoTimeline {
    let timeline = this.video.get(sourceId);
    if (!timeline) {
      timeline = new VideoTimeline(sourceId, this.segmentMs, this.restored.video.get(sourceId));
      this.video.set(sourceId, timeline);
    }
    return timeline;
  }
}

function invalid(what: string): RecordingError {
  return new RecordingError('EINVAL', `invalid ${what}`);
}

function refused(code: 'ECLOSED' | 'EFINALIZED', dir: string): RecordingError {
  const state = code === 'ECLOSED' ? 'closed' : 'finalized';
  return new RecordingError(code, `recording ${dir} is ${state}: it takes no more media`);
}
