/**
 * The platform's media leg of one call (docs/teams-protocol.md#media), speaking cr-media/1
 * (docs/media-protocol.md) to the endpoint of the answer's blob. An explicit state machine:
 *
 *   idle ─blob→ connecting ─WELCOME→ streaming ─socket lost→ reconnecting ─WELCOME→ streaming
 *                  └─error/REFUSE/timeout→ failed (leg ends 500/1005)   └─window passed→ failed
 *   any ─call ended→ ended (END + close when streaming; a media failure just drops the socket)
 *
 * The media clock and the frames are `MediaTicker`'s; the peer lends it the socket for a tick
 * only when it is live and neither stalled nor backed up.
 */
import { randomBytes } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { encodeFrame, type Frame, type FrameDecoder } from '@cr-orchestrator/media-protocol';
import { CallTimers } from './call-timers.js';
import type { Clock, ClockTimer } from './clock.js';
import { handshake, parseBlob, parseMpUri, type Handshake } from './media-link.js';
import * as probes from './media-probes.js';
import { MediaTicker } from './media-ticker.js';
import type {
  SimMediaBlob,
  SimMediaPeer,
  SimMediaPeerState,
  SimMediaWelcome,
  SimSentAudio,
  SimSentVideo,
} from './media-types.js';
import type { SimParticipant, SimulatorLogger } from './types.js';

export interface MediaPeerSettings {
  paceMs: number;
  video: boolean;
  connectTimeoutMs: number;
}

export interface MediaPeerDeps extends MediaPeerSettings {
  /** The simulator's call id, for logs. */
  callId: string;
  /** The simulator's clock: ticks, heartbeats, backoffs and connect timeouts run on it. */
  clock: Clock;
  participants(): SimParticipant[];
  /**
   * The first connection failed: the leg must end 500/1005 (docs/teams-protocol.md#call-states).
   */
  connectFailed(why: string): void;
  logger?: SimulatorLogger;
}

/**
 * Reconnect backoff: 100 ms doubling, capped at 1 s (a capped table, like every reconnect loop
 * here).
 */
const BACKOFF_MS = [100, 200, 400, 800, 1000];
/** Beyond this much unflushed output a tick is skipped: real-time media is not queued. */
const MAX_PENDING_WRITE_BYTES = 256 * 1024;
/** Refusals that no retry can change. */
const FINAL_REFUSALS = new Set([
  'malformed',
  'bad-signature',
  'wrong-call',
  'expired',
  'reused',
  'unknown-session',
  'ended',
]);
const PEER_NAME = 'simulator/1';
/** After our END, the server closes; if it does not, the socket is destroyed after this. */
const END_LINGER_MS = 1000;

type Hello = Extract<Frame, { type: 'hello' }>;
interface StateWaiter {
  state: SimMediaPeerState;
  resolve(): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class MediaPeer implements SimMediaPeer {
  state: SimMediaPeerState = 'idle';
  blob?: SimMediaBlob;
  failure?: string;
  readonly refusals: string[] = [];
  readonly ends: string[] = [];
  connects = 0;
  attempts = 0;
  heartbeatsSent = 0;
  welcome?: SimMediaWelcome;
  reconnectUri?: string;

  private readonly timers: CallTimers;
  private socket: TLSSocket | undefined;
  private readonly ticker: MediaTicker;
  private heartbeat: ClockTimer | undefined;
  private stalledUntil = 0;
  private lastHeardAt = 0;
  private lostAt = 0;
  private retry = 0;
  private waiters: StateWaiter[] = [];

  constructor(private readonly deps: MediaPeerDeps) {
    this.timers = new CallTimers(deps.clock);
    this.ticker = new MediaTicker({
      clock: deps.clock,
      paceMs: deps.paceMs,
      video: deps.video,
      participants: () => deps.participants(),
      sendable: () => this.sendable(),
    });
  }

  get sent(): Map<string, SimSentAudio[]> {
    return this.ticker.sent;
  }
  get videoSent(): Map<string, SimSentVideo[]> {
    return this.ticker.videoSent;
  }
  get dominantSpeakers(): { timestamp: number; sourceId: number }[] {
    return this.ticker.dominantSpeakers;
  }
  get gaps(): { from: number; to: number }[] {
    return this.ticker.gaps;
  }

  /** The answer was accepted: connect when its blob is a cr-media/1 blob. */
  start(blob: unknown): void {
    if (this.state !== 'idle') return;
    let parsed: SimMediaBlob | undefined;
    try {
      parsed = parseBlob(blob);
    } catch (error) {
      // Deferred: the answer that carried the blob is still being accepted.
      this.setState('connecting');
      this.timers.after(0, () => this.fail(`bad media blob: ${(error as Error).message}`, true));
      return;
    }
    if (!parsed) return;
    this.blob = parsed;
    this.setState('connecting');
    this.connectFirst(parsed).catch((err: unknown) => this.fail(String(err), true));
  }

  /** The call ended: END and close, or just drop the socket for a media failure. */
  stop(how: 'end' | 'drop'): void {
    if (this.state === 'ended' || this.state === 'failed') return;
    const socket = this.socket;
    this.socket = undefined;
    this.setState('ended');
    this.timers.clear();
    this.ticker.stop();
    if (!socket) return;
    if (how === 'drop' || !socket.writable) {
      socket.destroy();
      return;
    }
    socket.write(encodeFrame({ type: 'end', reason: 'call-ended' }));
    socket.end();
    this.deps.clock.setTimeout(() => socket.destroy(), END_LINGER_MS).unref();
  }

  /** The simulator is closing: drop everything now. */
  close(): void {
    this.stop('drop');
    this.failWaiters('simulator closed');
  }

  waitFor(state: SimMediaPeerState, timeoutMs = 10_000): Promise<void> {
    if (this.state === state) return Promise.resolve();
    if (this.state === 'ended' || this.state === 'failed') {
      return Promise.reject(new Error(this.why(`never '${state}'`)));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(this.why(`'${state}' not reached within ${timeoutMs} ms`)));
      }, timeoutMs);
      const waiter: StateWaiter = { state, resolve, reject, timer };
      this.waiters.push(waiter);
    });
  }

  dropSocket(): void {
    this.live().destroy();
  }

  stall(ms: number): void {
    this.stalledUntil = Math.max(this.stalledUntil, this.deps.clock.now() + ms);
  }

  sendGarbage(bytes?: Buffer): void {
    const garbage = bytes ?? randomBytes(64);
    // By default the version byte is wrong, so the garbage is refused at its first byte.
    if (!bytes) garbage[0] = 0xff;
    this.live().write(garbage);
  }

  async reuseCredential(): Promise<string> {
    return await probes.reuseCredential(this.probe());
  }

  async connectPlaintext(): Promise<string> {
    return await probes.connectPlaintext(this.probe());
  }

  async slowHandshake(ms: number): Promise<string> {
    return await probes.slowHandshake(this.probe(), ms);
  }

  /** A small view for the control API (`SimCall.toJSON`); the frame logs only as counts. */
  summary(): Record<string, unknown> {
    const frames = Object.fromEntries(
      [...this.sent, ...this.videoSent].map(([track, list]) => [track, list.length]),
    );
    const { state, failure, connects, attempts, heartbeatsSent, refusals, ends, gaps } = this;
    const counts = { connects, attempts, heartbeatsSent };
    return { state, mpUri: this.blob?.mpUri, failure, ...counts, refusals, ends, gaps, frames };
  }

  // ---- connection ----

  private async connectFirst(blob: SimMediaBlob): Promise<void> {
    this.attempts += 1;
    const result = await handshake(
      parseMpUri(blob.mpUri),
      this.hello(false),
      this.deps.connectTimeoutMs,
      this.deps.clock,
    );
    if (this.state !== 'connecting') return void (result.ok && result.socket.destroy());
    if (!result.ok) {
      if (result.refused !== undefined) this.refusals.push(result.refused);
      return this.fail(`media connect failed: ${result.error}`, true);
    }
    this.attach(result);
    this.ticker.start();
  }

  private attach(result: Extract<Handshake, { ok: true }>): void {
    const { socket, decoder, welcome, rest } = result;
    this.socket = socket;
    this.welcome = welcome;
    this.connects += 1;
    this.lastHeardAt = this.deps.clock.now();
    this.ticker.reconnected();
    socket.on('data', (chunk: Buffer) => this.onData(socket, decoder, chunk));
    socket.on('error', (err: Error) =>
      this.deps.logger?.warn({ callId: this.deps.callId, err: err.message }, 'media socket error'),
    );
    socket.on('close', () => this.onClose(socket));
    socket.unref();
    this.setState('streaming');
    this.deps.logger?.info(
      { callId: this.deps.callId, sessionId: welcome.sessionId, connects: this.connects },
      'media streaming',
    );
    this.received(rest);
    socket.resume();
    this.timers.cancel(this.heartbeat);
    if (welcome.heartbeatMs > 0)
      this.heartbeat = this.timers.after(welcome.heartbeatMs, () => this.beat(socket));
  }

  private onData(socket: TLSSocket, decoder: FrameDecoder, chunk: Buffer): void {
    if (socket !== this.socket) return;
    this.lastHeardAt = this.deps.clock.now();
    try {
      this.received(decoder.push(chunk));
    } catch (error) {
      this.deps.logger?.warn(
        { callId: this.deps.callId, err: (error as Error).message },
        'bad media frames from the server',
      );
      socket.destroy();
    }
  }

  private received(frames: Frame[]): void {
    for (const f of frames) {
      if (f.type === 'end') this.ends.push(f.reason);
      else if (f.type === 'refuse') this.refusals.push(f.reason);
    }
  }

  private beat(socket: TLSSocket): void {
    if (socket !== this.socket || this.state !== 'streaming' || !this.welcome) return;
    const every = this.welcome.heartbeatMs;
    // The server heartbeats every `every` ms: three missed is a dead connection (as it judges us).
    if (this.deps.clock.now() - this.lastHeardAt > 3 * every) return void socket.destroy();
    if (this.deps.clock.now() >= this.stalledUntil && socket.writable) {
      socket.write(encodeFrame({ type: 'heartbeat', timestamp: this.deps.clock.now() }));
      this.heartbeatsSent += 1;
    }
    this.heartbeat = this.timers.after(every, () => this.beat(socket));
  }

  private onClose(socket: TLSSocket): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    this.timers.cancel(this.heartbeat);
    if (this.state !== 'streaming') return;
    this.setState('reconnecting');
    this.lostAt = this.deps.clock.now();
    this.retry = 0;
    this.deps.logger?.info({ callId: this.deps.callId }, 'media connection lost; resuming');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const windowEnd = this.lostAt + (this.welcome?.reconnectWindowMs ?? 0);
    const backoff = BACKOFF_MS[Math.min(this.retry, BACKOFF_MS.length - 1)]!;
    const at = Math.max(this.deps.clock.now() + backoff, this.stalledUntil);
    if (at >= windowEnd) return this.fail('reconnect window passed', false);
    this.timers.after(at - this.deps.clock.now(), () => {
      this.reconnect(windowEnd).catch((err: unknown) => this.fail(String(err), false));
    });
  }

  private async reconnect(windowEnd: number): Promise<void> {
    if (this.state !== 'reconnecting') return;
    this.attempts += 1;
    const target = parseMpUri(this.reconnectUri ?? this.started().mpUri);
    const timeoutMs = Math.max(
      1,
      Math.min(this.deps.connectTimeoutMs, windowEnd - this.deps.clock.now()),
    );
    const result = await handshake(target, this.hello(true), timeoutMs, this.deps.clock);
    if (this.state !== 'reconnecting') return void (result.ok && result.socket.destroy());
    if (result.ok) return this.attach(result);
    if (result.refused !== undefined) {
      this.refusals.push(result.refused);
      if (FINAL_REFUSALS.has(result.refused))
        return this.fail(`resume refused: ${result.refused}`, false);
    }
    this.retry += 1;
    this.scheduleReconnect();
  }

  /** Failed for good; `leg` when the leg must end 500/1005 (the first connection). */
  private fail(why: string, leg: boolean): void {
    if (this.state === 'ended' || this.state === 'failed') return;
    this.failure = why;
    this.socket?.destroy();
    this.socket = undefined;
    this.timers.clear();
    this.ticker.stop();
    this.setState('failed');
    this.deps.logger?.warn({ callId: this.deps.callId, why }, 'media peer failed');
    if (leg) this.deps.connectFailed(why);
  }

  /** The socket when a tick may be written now. */
  private sendable(): TLSSocket | undefined {
    const s = this.socket;
    if (
      this.state !== 'streaming' ||
      !s ||
      !s.writable ||
      this.deps.clock.now() < this.stalledUntil
    )
      return;
    return s.writableLength <= MAX_PENDING_WRITE_BYTES ? s : undefined;
  }

  // ---- helpers ----

  private hello(resume: boolean): Hello {
    const { callId, credential } = this.started();
    if (resume && this.welcome)
      return { type: 'hello', callId, resume: this.welcome.resume, peer: PEER_NAME };
    return { type: 'hello', callId, credential, peer: PEER_NAME };
  }

  /** What a probe connection needs: the blob's endpoint, its credential, our deadline. */
  private probe(): probes.Probe {
    return {
      target: parseMpUri(this.started().mpUri),
      hello: this.hello(false),
      timeoutMs: this.deps.connectTimeoutMs,
      clock: this.deps.clock,
      onRefusal: (reason) => this.refusals.push(reason),
    };
  }

  private started(): SimMediaBlob {
    if (!this.blob) throw new Error(this.why('no cr-media/1 blob was answered'));
    return this.blob;
  }

  private live(): TLSSocket {
    if (!this.socket || this.state !== 'streaming')
      throw new Error(this.why('no live media socket'));
    return this.socket;
  }

  private why(what: string): string {
    const failure = this.failure ? `: ${this.failure}` : '';
    return `call ${this.deps.callId} media: ${what} (state ${this.state}${failure})`;
  }

  private setState(state: SimMediaPeerState): void {
    this.state = state;
    for (const w of this.waiters.filter((x) => x.state === state)) {
      clearTimeout(w.timer);
      w.resolve();
    }
    this.waiters = this.waiters.filter((x) => x.state !== state);
    if (state === 'ended' || state === 'failed') this.failWaiters(`${state} instead`);
  }

  private failWaiters(why: string): void {
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new Error(this.why(`${why}, never '${w.state}'`)));
    }
  }
}
