/**
 * What one session takes of its peer's media, before the recording sees a frame
 * (docs/media-protocol.md, "Limits and hostile peers"):
 *
 * - The media clock: the latest timestamp taken, and the real time it was taken at. A frame more
 *   than `maxJumpMs` ahead of it (beyond the real time that passed since) or more than
 *   `maxJumpMs` behind it is a protocol error: a hole of that size would be filled with silence
 *   (2^53−1 would never finish; a gateway whose clock starts at 0 after a real one would write
 *   hours of it), and no real sender's clock jumps so far.
 * - Unmixed audio: at most `maxUnmixedSources` sources per 20 ms (Teams sends the four dominant
 *   speakers); more are dropped, so they never become tracks. An unmixed frame older than the
 *   last second cannot be counted against its 20 ms any more, so it is dropped too.
 * - Modalities: video only when the answer accepted video (the credential carries what it did).
 */
import type { Modality } from '../config.js';
import { FRAME_MS, type Frame } from '@cr-orchestrator/media-protocol';
import type { DropReason } from './telemetry.js';

export interface FrameGuardLimits {
  maxJumpMs: number;
  maxUnmixedSources: number;
  modalities: readonly Modality[];
}

export type Admission =
  | { verdict: 'take' }
  | { verdict: 'drop'; reason: DropReason }
  | { verdict: 'error'; message: string };

type MediaFrame = Extract<Frame, { type: 'audio' | 'video' }>;

/** How many recent 20 ms slots keep their set of unmixed sources (one second). */
const SLOT_WINDOW = 1000 / FRAME_MS;

const TAKE: Admission = { verdict: 'take' };

export class FrameGuard {
  private clock: number | undefined;
  private clockAt = 0;
  private newestSlot = -Infinity;
  private readonly slots = new Map<number, Set<number>>();

  constructor(
    private readonly limits: FrameGuardLimits,
    private readonly now: () => number = Date.now,
  ) {}

  admit(frame: MediaFrame): Admission {
    const jump = this.advance(frame.timestamp);
    if (jump) return { verdict: 'error', message: jump };
    if (frame.type === 'video' && !this.limits.modalities.includes('video')) {
      return { verdict: 'drop', reason: 'modality-not-answered' };
    }
    if (frame.type === 'audio' && frame.kind === 'unmixed' && !this.source(frame)) {
      return { verdict: 'drop', reason: 'source-limit' };
    }
    return TAKE;
  }

  /** Moves the media clock; the reason when `timestamp` jumps too far. */
  private advance(timestamp: number): string | undefined {
    const now = this.now();
    if (this.clock === undefined) {
      this.clock = timestamp;
      this.clockAt = now;
      return undefined;
    }
    const { maxJumpMs } = this.limits;
    const ahead = timestamp - this.clock - Math.max(0, now - this.clockAt);
    if (ahead > maxJumpMs) {
      return `timestamp ${timestamp} jumps ${timestamp - this.clock} ms ahead of the media clock (at most ${maxJumpMs} ms beyond real time)`;
    }
    if (this.clock - timestamp > maxJumpMs) {
      return `timestamp ${timestamp} is ${this.clock - timestamp} ms behind the media clock (at most ${maxJumpMs} ms)`;
    }
    if (timestamp > this.clock) {
      this.clock = timestamp;
      this.clockAt = now;
    }
    return undefined;
  }

  /** Whether an unmixed frame's source fits into its 20 ms. */
  private source(frame: MediaFrame): boolean {
    const slot = Math.floor(frame.timestamp / FRAME_MS);
    if (slot <= this.newestSlot - SLOT_WINDOW) return false;
    let sources = this.slots.get(slot);
    if (!sources) {
      sources = new Set();
      this.slots.set(slot, sources);
      if (slot > this.newestSlot) {
        this.newestSlot = slot;
        for (const old of this.slots.keys()) {
          if (old <= slot - SLOT_WINDOW) this.slots.delete(old);
        }
      }
    }
    if (sources.has(frame.sourceId)) return true;
    if (sources.size >= this.limits.maxUnmixedSources) return false;
    sources.add(frame.sourceId);
    return true;
  }
}
