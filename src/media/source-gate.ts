/**
 * Which unmixed audio a session may write: only that of source ids the call's roster announced.
 * The roster notification of a participant who just joined may still be on its way when their
 * audio arrives, so audio of a source not announced yet is held for up to `holdMs` and written
 * once the roster names it; after that it is dropped and counted. Held sources and frames are
 * capped, so a peer inventing source ids cannot grow memory.
 */
import type { Frame } from '@cr-orchestrator/media-protocol';
import type { SpeakerMap } from './recording/index.js';

export type AudioFrame = Extract<Frame, { type: 'audio' }>;

export interface SourceGateOptions {
  /** @default 2000 */
  holdMs?: number;
  /** @default 8 */
  maxHeldSources?: number;
  /** Told of every frame dropped (a count). */
  dropped(frames: number): void;
}

export class SourceGate {
  /** The roster's source → owner map; undefined until first read. */
  speakers: SpeakerMap | undefined;
  private readonly held = new Map<number, { since: number; frames: AudioFrame[] }>();
  private readonly holdMs: number;
  private readonly maxSources: number;
  private readonly maxFrames: number;

  constructor(private readonly options: SourceGateOptions) {
    this.holdMs = options.holdMs ?? 2000;
    this.maxSources = options.maxHeldSources ?? 8;
    this.maxFrames = Math.ceil(this.holdMs / 20);
  }

  announced(sourceId: number): boolean {
    return this.speakers?.[String(sourceId)] !== undefined;
  }

  /** Keep a frame of an unannounced source for later (or drop it when the caps are reached). */
  hold(frame: AudioFrame, now: number): void {
    let held = this.held.get(frame.sourceId);
    if (!held) {
      if (this.held.size >= this.maxSources) return this.options.dropped(1);
      held = { since: now, frames: [] };
      this.held.set(frame.sourceId, held);
    }
    if (held.frames.length >= this.maxFrames) return this.options.dropped(1);
    held.frames.push(frame);
  }

  /**
   * Hands the held frames of now-announced sources to `write` (in arrival order) when `open`,
   * drops those held longer than the hold time, keeps the rest. `open` false drops everything.
   */
  release(now: number, open: boolean, write: (frame: AudioFrame) => void): void {
    for (const [sourceId, held] of this.held) {
      if (open && this.announced(sourceId)) {
        for (const frame of held.frames) write(frame);
      } else if (open && now - held.since < this.holdMs) {
        continue;
      } else {
        this.options.dropped(held.frames.length);
      }
      this.held.delete(sourceId);
    }
  }
}
