/**
 * The bounded queue between one media socket and the call's recording: one drain loop writes
 * the frames in order; a full queue pauses the socket, a short one resumes it. Every frame
 * taken is either counted as written or dropped with its reason.
 */
import type { TLSSocket } from 'node:tls';
import type { Frame } from '@cr-orchestrator/media-protocol';
import type { AudioTrack, Recording } from './recording/index.js';
import type { DropReason, MediaTelemetry } from './telemetry.js';

type Write =
  | { kind: 'audio'; track: AudioTrack; timestamp: number; pcm: Buffer | null }
  | { kind: 'video'; sourceId: number; timestamp: number; data: Buffer; keyframe: boolean };

const QUEUE_MAX = 256;
const QUEUE_RESUME = 64;

export interface FrameQueueDeps {
  socket: Pick<TLSSocket, 'pause' | 'resume' | 'isPaused'>;
  /** Opens (or continues) the call's recording, on the first frame written. */
  openRecording(): Promise<Recording>;
  /**
   * Whether frames may still be written: the session is streaming. `close()` writes what was
   * queued before it whatever this says: a frame received is never dropped for a lost socket.
   */
  writing(): boolean;
  /**
   * Whether the call still allows persisting. Checked before every frame, so a stop also halts
   * the batch being written. @default always
   */
  allowed?(): boolean;
  /** A write failed; the recording takes nothing more (it is poisoned). */
  onWriteError(error: unknown): void;
  telemetry: MediaTelemetry;
}

export class FrameQueue {
  /** The recording this queue opened, until `close()`. */
  recording: Recording | undefined;
  private queue: Write[] = [];
  private draining: Promise<void> | undefined;
  /** Set by `close()`: what is queued is written even though the session stopped streaming. */
  private closing = false;

  constructor(private readonly deps: FrameQueueDeps) {}

  push(frame: Extract<Frame, { type: 'audio' | 'video' }>): void {
    this.queue.push(
      frame.type === 'audio'
        ? {
            kind: 'audio',
            track: frame.kind === 'mixed' ? 'mixed' : `src-${frame.sourceId}`,
            timestamp: frame.timestamp,
            pcm: frame.silence ? null : (frame.pcm ?? null),
          }
        : {
            kind: 'video',
            sourceId: frame.sourceId,
            timestamp: frame.timestamp,
            data: frame.data,
            keyframe: frame.keyframe,
          },
    );
    if (this.queue.length >= QUEUE_MAX) this.deps.socket.pause(); // backpressure
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
  }

  /** Waits until everything queued is written (or dropped). */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** Drops what is queued (and `more` frames already taken from it), counted by reason. */
  drop(reason: DropReason, more = 0): void {
    this.deps.telemetry.dropped(reason, this.queue.length + more);
    this.queue = [];
  }

  /** Flushes, then closes the recording (another process may continue it) and forgets it. */
  async close(): Promise<void> {
    this.closing = true;
    await this.flush();
    await this.recording?.close().catch(() => undefined);
    this.recording = undefined;
  }

  private async drain(): Promise<void> {
    const { telemetry } = this.deps;
    while (this.queue.length > 0 && !this.stopped()) {
      const batch = this.queue;
      this.queue = [];
      let done = 0;
      // counted once per batch: a metric update per frame is a cost of its own at 50 per second
      let written = 0;
      try {
        this.recording ??= await this.deps.openRecording();
        for (const w of batch) {
          const stopped = this.stopped();
          if (stopped) {
            telemetry.dropped(stopped, batch.length - done);
            break;
          }
          const late = this.recording.stats.framesDroppedLate;
          if (w.kind === 'audio') await this.recording.writeAudio(w.track, w.timestamp, w.pcm);
          else await this.recording.writeVideo(w.sourceId, w.timestamp, w.data, w.keyframe);
          done += 1;
          if (this.recording.stats.framesDroppedLate > late) telemetry.dropped('late');
          else written += 1;
        }
      } catch (error) {
        this.drop('write-error', batch.length - done);
        this.deps.onWriteError(error);
        return;
      } finally {
        telemetry.written(written);
      }
      if (this.queue.length < QUEUE_RESUME && this.deps.socket.isPaused()) {
        this.deps.socket.resume();
      }
    }
    // the session stopped streaming (or the recording was stopped) with frames still queued
    this.drop(this.stopped() ?? 'stream-closed');
  }

  private stopped(): DropReason | undefined {
    if (!this.closing && !this.deps.writing()) return 'stream-closed';
    if (this.deps.allowed && !this.deps.allowed()) return 'recording-stopped';
    return undefined;
  }
}
