/**
 * One media connection of one call, as an explicit state machine (HOUSE-STYLE 10):
 *
 *   handshake ─HELLO ok→ streaming ─END→ ended
 *       │                   ├─socket lost / garbage / silent peer→ lost (window open; the peer may
 *       └─timeout/refused→ closed      resume here or on another media process) → ended (FAULT)
 *                           └─write failed (disk full)→ ended (FAULT)
 *
 * Frames are written only while the call's `persist` flag is set (checked every
 * PERSIST_POLL_MS); earlier frames are dropped and counted (docs/media-protocol.md, "The
 * recording rule"). Writes go through a bounded queue; a full queue pauses the socket.
 */
import { randomUUID } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { CallEvent } from '../../machines/call.js';
import { CALL_ID_PATTERN } from '../calls/keys.js';
import { CredentialError, type MediaCredentials } from './credentials.js';
import type { MediaMetrics } from './metrics.js';
import { encodeFrame, FrameDecoder, ProtocolError, type Frame } from './protocol/index.js';
import type { AudioTrack, Recording } from './recording/index.js';
import type { MediaSessionStore } from './session-store.js';

export interface SessionSettings {
  heartbeatMs: number;
  reconnectWindowMs: number;
  handshakeTimeoutMs: number;
}

export interface SessionDeps {
  owner: string;
  settings: SessionSettings;
  store: MediaSessionStore;
  credentials: MediaCredentials;
  openRecording(callId: string): Promise<Recording>;
  /** Whether something was already recorded for the call (by this or another process). */
  hasRecording(callId: string): Promise<boolean>;
  /** Report to the call (through its `applyEvent`); never throws. */
  report(callId: string, event: CallEvent): Promise<void>;
  metrics: MediaMetrics;
  logger: Logger;
  now?: () => number;
}

type State = 'handshake' | 'streaming' | 'lost' | 'ended' | 'closed';
type Write =
  | { kind: 'audio'; track: AudioTrack; timestamp: number; pcm: Buffer | null }
  | { kind: 'video'; sourceId: number; timestamp: number; data: Buffer; keyframe: boolean };

const QUEUE_MAX = 256;
const QUEUE_RESUME = 64;
const PERSIST_POLL_MS = 200;

export class MediaSession {
  state: State = 'handshake';
  callId: string | undefined;
  private sessionId: string | undefined;
  private readonly decoder = new FrameDecoder();
  private readonly timers: NodeJS.Timeout[] = [];
  private recording: Recording | undefined;
  private queue: Write[] = [];
  private draining: Promise<void> | undefined;
  private persist = false;
  private flowingReported = false;
  private lastFrameAt = 0;
  private readonly now: () => number;

  constructor(
    private readonly socket: TLSSocket,
    private readonly deps: SessionDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.later(deps.settings.handshakeTimeoutMs, () => {
      if (this.state === 'handshake') this.refuse('handshake-timeout');
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: Error) =>
      deps.logger.debug({ err: err.message, callId: this.callId }, 'media socket error'),
    );
    socket.on('close', () => void this.onClose());
  }

  /** Stop for a process shutdown: flush what was received, keep the session resumable. */
  async drain(): Promise<void> {
    if (this.state !== 'streaming') return this.close();
    this.socket.pause();
    await this.flushQueue();
    await this.recording?.close().catch(() => undefined);
    this.recording = undefined;
    this.socket.destroy(); // no END: the peer resumes on another media process
  }

  private onData(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (error) {
      this.deps.metrics.protocolErrors += 1;
      if (this.state === 'handshake') this.refuse('protocol-error');
      else this.fail(error instanceof ProtocolError ? error.message : 'protocol-error', true);
      return;
    }
    for (const frame of frames) {
      if (this.state === 'handshake') void this.onHello(frame);
      else if (this.state === 'streaming') this.onFrame(frame);
    }
  }

  private async onHello(frame: Frame): Promise<void> {
    if (frame.type !== 'hello' || !CALL_ID_PATTERN.test(frame.callId))
      return this.refuse('protocol-error');
    this.state = 'closed'; // no second HELLO while this one is checked
    const { callId } = frame;
    const now = this.now();
    try {
      if (frame.credential) {
        const claims = this.deps.credentials.check(frame.credential, 'call', callId, now);
        if (!(await this.deps.store.claimNonce(callId, claims.nonce, claims.exp - now + 60_000))) {
          return this.refuse('reused');
        }
        this.sessionId = randomUUID();
        await this.deps.store.start(callId, this.sessionId, this.deps.owner);
      } else if (frame.resume) {
        const claims = this.deps.credentials.check(frame.resume, 'resume', callId, now);
        const resumed = await this.deps.store.resume(callId, claims.sessionId, this.deps.owner);
        if (resumed !== 'ok') return this.refuse(resumed);
        this.sessionId = claims.sessionId;
        this.deps.metrics.resumes += 1;
      } else {
        return this.refuse('malformed');
      }
    } catch (error) {
      if (error instanceof CredentialError) return this.refuse(error.reason);
      this.deps.logger.error({ err: error, callId }, 'media handshake failed');
      return this.refuse('unavailable');
    }
    this.callId = callId;
    this.state = 'streaming';
    this.deps.metrics.sessions += 1;
    this.lastFrameAt = this.now();
    const { heartbeatMs, reconnectWindowMs } = this.deps.settings;
    const resume = this.deps.credentials.mintResume(
      callId,
      this.sessionId,
      this.now() + 24 * 3600_000,
    );
    this.send({
      type: 'welcome',
      sessionId: this.sessionId,
      resume,
      heartbeatMs,
      reconnectWindowMs,
    });
    this.every(heartbeatMs, () => {
      if (this.now() - this.lastFrameAt > 3 * heartbeatMs) return this.fail('peer silent', true);
      this.send({ type: 'heartbeat', timestamp: this.now() });
    });
    this.every(PERSIST_POLL_MS, () => void this.refreshPersist());
    await this.refreshPersist();
    await this.deps.report(callId, { type: 'MEDIA.CONNECTED', at: this.now() });
  }

  private onFrame(frame: Frame): void {
    this.lastFrameAt = this.now();
    if (frame.type === 'end') return void this.end(frame.reason);
    if (frame.type !== 'audio' && frame.type !== 'video') return; // heartbeat, dominant speaker
    if (!this.flowingReported) {
      this.flowingReported = true;
      void this.deps.report(this.callId!, { type: 'MEDIA.FLOWING', at: this.now() });
    }
    if (!this.persist) {
      this.deps.metrics.framesDroppedBeforeConfirmation += 1;
      return;
    }
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
    if (this.queue.length >= QUEUE_MAX) this.socket.pause(); // backpressure
    this.draining ??= this.drainQueue().finally(() => (this.draining = undefined));
  }

  private async drainQueue(): Promise<void> {
    while (this.queue.length > 0 && this.state === 'streaming') {
      const batch = this.queue;
      this.queue = [];
      try {
        this.recording ??= await this.deps.openRecording(this.callId!);
        for (const w of batch) {
          if (w.kind === 'audio') await this.recording.writeAudio(w.track, w.timestamp, w.pcm);
          else await this.recording.writeVideo(w.sourceId, w.timestamp, w.data, w.keyframe);
          this.deps.metrics.framesWritten += 1;
        }
      } catch (error) {
        const code = (error as { code?: string }).code;
        this.deps.metrics.writeErrors += 1;
        this.fail(
          code === 'ENOSPC' ? 'disk full' : `recording write failed: ${(error as Error).message}`,
          false,
        );
        return;
      }
      if (this.queue.length < QUEUE_RESUME && this.socket.isPaused()) this.socket.resume();
    }
  }

  private async flushQueue(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async refreshPersist(): Promise<void> {
    if (!this.callId) return;
    try {
      const allowed = await this.deps.store.persistAllowed(this.callId);
      if (this.persist && !allowed) {
        // recording stopped (hang-up, fault): nothing more is written, what is buffered is sealed
        this.queue = [];
        await this.recording?.flush().catch(() => undefined);
      }
      this.persist = allowed;
    } catch {
      this.persist = false; // Redis unreachable: do not write what may not be allowed
    }
  }

  /** END from the peer: finalise the recording. */
  private async end(reason: string): Promise<void> {
    if (this.state !== 'streaming') return;
    await this.flushQueue();
    this.state = 'ended';
    this.stopTimers();
    try {
      await (this.recording ?? (await this.existingRecording()))?.finalize();
    } catch (error) {
      this.deps.logger.warn({ err: error, callId: this.callId }, 'finalising the recording failed');
    }
    await this.deps.store.markEnded(this.callId!, this.sessionId!).catch(() => undefined);
    await this.deps.report(this.callId!, { type: 'MEDIA.ENDED', at: this.now() });
    this.deps.logger.info({ callId: this.callId, reason }, 'media stream ended');
    this.socket.end();
  }

  /** A fault: `resumable` ones open the reconnect window, others end the session. */
  private fail(reason: string, resumable: boolean): void {
    if (this.state !== 'streaming') return;
    if (!resumable) {
      this.state = 'ended';
      this.stopTimers();
      this.send({ type: 'end', reason: 'recording-failed' });
      void this.deps.store.markEnded(this.callId!, this.sessionId!).catch(() => undefined);
      void this.deps.report(this.callId!, { type: 'MEDIA.FAULT', at: this.now(), reason });
      this.socket.end();
      return;
    }
    // Read nothing more, but let the END reach the peer before the socket goes: it tells the
    // peer to reconnect (with its resume token) instead of giving up.
    this.socket.pause();
    this.send({ type: 'end', reason: 'protocol-error' });
    this.socket.end();
    this.later(500, () => this.socket.destroy());
  }

  private async onClose(): Promise<void> {
    this.stopTimers();
    if (this.state !== 'streaming') return;
    this.state = 'lost';
    const callId = this.callId!;
    const sessionId = this.sessionId!;
    const lostAt = this.now();
    await this.flushQueue();
    await this.recording?.close().catch(() => undefined);
    this.recording = undefined;
    await this.deps.store.markLost(callId, sessionId, lostAt).catch(() => undefined);
    await this.deps.report(callId, { type: 'MEDIA.LOST', at: lostAt, reason: 'connection lost' });
    const window = setTimeout(() => {
      void (async () => {
        if (!(await this.deps.store.endIfStillLost(callId, sessionId, lostAt).catch(() => false)))
          return;
        this.state = 'ended';
        await this.deps.report(callId, {
          type: 'MEDIA.FAULT',
          at: this.now(),
          reason: 'media lost beyond the reconnect window',
        });
        await (await this.existingRecording())?.finalize().catch(() => undefined);
      })();
    }, this.deps.settings.reconnectWindowMs);
    window.unref();
  }

  /** The call's recording if one exists on disk; never creates one (nothing before consent). */
  private async existingRecording(): Promise<Recording | undefined> {
    if (!this.callId || !(await this.deps.hasRecording(this.callId))) return undefined;
    return this.deps.openRecording(this.callId).catch(() => undefined);
  }

  private refuse(reason: string): void {
    this.deps.metrics.refused[reason] = (this.deps.metrics.refused[reason] ?? 0) + 1;
    this.deps.logger.info({ reason }, 'media handshake refused');
    this.state = 'closed';
    this.stopTimers();
    this.send({ type: 'refuse', reason });
    this.socket.end();
    this.later(500, () => this.socket.destroy());
  }

  private close(): Promise<void> {
    this.state = 'closed';
    this.stopTimers();
    this.socket.destroy();
    return Promise.resolve();
  }

  private send(frame: Frame): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(encodeFrame(frame));
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(fn, ms);
    t.unref();
    this.timers.push(t);
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.push(t);
  }

  private stopTimers(): void {
    for (const t of this.timers.splice(0)) clearTimeout(t);
  }
}
