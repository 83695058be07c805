/**
 * The media clock and tick loop of one call's media peer: a tick every `paceMs` of the
 * simulator's clock (real time unless a test moves it),
 * 20 ms of media clock each, from the first WELCOME to the end of the call, whatever the
 * connection does. A tick's frames (`composeTick`) are written when the peer offers a socket,
 * else the tick is a gap: media is real time, nothing is sent late. Everything written is logged
 * for byte-exact comparison with what a server received.
 */
import type { Socket } from 'node:net';
import { FRAME_MS, encodeFrame } from '@cr-orchestrator/media-protocol';
import { CallTimers } from './call-timers.js';
import type { Clock } from './clock.js';
import { DominantSpeaker, composeTick } from './media-ticks.js';
import type { SimSentAudio, SimSentVideo } from './media-types.js';
import type { SimParticipant } from './types.js';

export interface TickerDeps {
  clock: Clock;
  paceMs: number;
  video: boolean;
  participants(): SimParticipant[];
  /** The socket to write this tick to, or undefined when the tick cannot be sent now. */
  sendable(): Socket | undefined;
}

export class MediaTicker {
  readonly sent = new Map<string, SimSentAudio[]>();
  readonly videoSent = new Map<string, SimSentVideo[]>();
  readonly dominantSpeakers: { timestamp: number; sourceId: number }[] = [];
  readonly gaps: { from: number; to: number }[] = [];
  private readonly timers: CallTimers;
  private tick = 0;
  private clockStart = 0;
  private loopStart = 0;
  private running = false;
  private gap: { from: number; to: number } | undefined;
  private readonly dominant = new DominantSpeaker();
  private announced: number | undefined;

  constructor(private readonly deps: TickerDeps) {
    this.timers = new CallTimers(deps.clock);
  }

  /** Start the clock at the current wall time (once). */
  start(): void {
    if (this.running || this.tick > 0) return;
    this.running = true;
    this.clockStart = this.deps.clock.now();
    this.loopStart = this.deps.clock.monotonic();
    this.schedule();
  }

  stop(): void {
    this.running = false;
    this.timers.clear();
    this.gap = undefined;
  }

  /** A new connection has not heard the dominant speaker yet. */
  reconnected(): void {
    this.announced = undefined;
  }

  private schedule(): void {
    let delay = this.loopStart + this.tick * this.deps.paceMs - this.deps.clock.monotonic();
    // Far behind (a suspended process): carry on from now rather than burst catch-up ticks.
    if (delay < -1000) {
      this.loopStart -= delay;
      delay = 0;
    }
    this.timers.after(Math.max(0, delay), () => this.onTick());
  }

  private onTick(): void {
    if (!this.running) return;
    const n = this.tick;
    this.tick += 1;
    const timestamp = this.clockStart + n * FRAME_MS;
    const frames = composeTick(this.deps.participants(), n, timestamp, this.deps.video);
    const dominant = this.dominant.update(frames.speaking, frames.present);
    const socket = this.deps.sendable();
    if (!socket) {
      if (this.gap) this.gap.to = timestamp;
      else this.gaps.push((this.gap = { from: timestamp, to: timestamp }));
      return this.schedule();
    }
    this.gap = undefined;
    for (const f of frames.audio) {
      socket.write(encodeFrame(f));
      const track = f.kind === 'mixed' ? 'mixed' : `src-${f.sourceId}`;
      log(this.sent, track, { timestamp, pcm: f.silence ? null : f.pcm! });
    }
    for (const f of frames.video) {
      socket.write(encodeFrame(f));
      log(this.videoSent, `src-${f.sourceId}`, { timestamp, data: f.data, keyframe: f.keyframe });
    }
    if (dominant !== undefined && dominant !== this.announced) {
      socket.write(encodeFrame({ type: 'dominantSpeaker', sourceId: dominant, timestamp }));
      this.dominantSpeakers.push({ timestamp, sourceId: dominant });
      this.announced = dominant;
    }
    this.schedule();
  }
}

function log<T>(into: Map<string, T[]>, key: string, entry: T): void {
  const list = into.get(key);
  if (list) list.push(entry);
  else into.set(key, [entry]);
}
