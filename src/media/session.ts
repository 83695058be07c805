/**
 * One media connection of one call, as an explicit state machine
 * (CONTRIBUTING.md#the-style-we-keep):
 *
 *   handshake ─HELLO ok→ streaming ─END→ ended
 *       │                   ├─socket lost / garbage / silent peer→ lost (window open; the peer may
 *       └─timeout/refused→ closed      resume here or on another media process) → ended (FAULT)
 *                           └─write failed (disk full)→ ended (FAULT)
 *
 * Frames are written only while the call's `persist` flag is set (checked every
 * PERSIST_POLL_MS); earlier frames are dropped and counted (docs/media-protocol.md, "The
 * recording rule"). When the flag turns 0 the session stops writing, flushes what it wrote and
 * confirms the stop's generation to the call (MEDIA.STOPPED): only then does the call report
 * `notRecording` ("Stopping"). Unmixed audio is written only for source ids the call's roster
 * announced (read from the call's committed state at the same cadence; ./source-gate.ts holds a
 * source not announced yet for a moment, then drops and counts its audio). Every map of who
 * owns which source goes into the recording's manifest (speaker attribution) when the recording
 * opens and whenever it changes. Writes go through a bounded queue (./frame-queue.ts). Every
 * state change goes through `setState`, which keeps the streams gauge exact; spans and metrics
 * are in ./telemetry.ts.
 */
import { randomUUID } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { CallEvent } from '../../machines/call.js';
import type { Modality } from '../config.js';
import { CALL_ID_PATTERN } from '../redis/keys.js';
import { CredentialError, type MediaCredentials } from './credentials.js';
import { FrameGuard } from './frame-guard.js';
import { FrameQueue } from './frame-queue.js';
import { SourceGate } from './source-gate.js';
import {
  encodeFrame,
  FrameDecoder,
  ProtocolError,
  type Frame,
} from '@cr-orchestrator/media-protocol';
import type { Recording, SpeakerMap } from './recording/index.js';
import type { CallMediaState, MediaSessionStore } from './session-store.js';
import { MediaTelemetry, type MediaState, type SessionTelemetry } from './telemetry.js';

export interface SessionSettings {
  heartbeatMs: number;
  reconnectWindowMs: number;
  handshakeTimeoutMs: number;
  /** A timestamp jump beyond this is a protocol error (./frame-guard.ts). */
  maxTimestampJumpMs: number;
  /** Unmixed audio sources taken per 20 ms. */
  maxUnmixedSources: number;
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
  /** Spans and instruments; give one per process. @default new MediaTelemetry() */
  telemetry?: MediaTelemetry;
  logger: Logger;
  now?: () => number;
}

type State = 'handshake' | 'streaming' | 'lost' | 'ended' | 'closed';

/** How often a streaming session's call is read (the media server polls them all at once). */
export const PERSIST_POLL_MS = 200;

/** A session's poll of its call: which call, and the version whose speakers it holds. */
export interface CallPoll {
  callId: string;
  sinceVersion: number;
}

export class MediaSession {
  state: State = 'handshake';
  callId: string | undefined;
  private sessionId: string | undefined;
  private readonly decoder = new FrameDecoder();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly frames: FrameQueue;
  /** Set at WELCOME, with the modalities the credential carries. */
  private guard: FrameGuard | undefined;
  private persist = false;
  /** The generation of the last stop this session confirmed to the call. */
  private stopConfirmed: number | undefined;
  private refreshing: Promise<void> | undefined;
  private flowingReported = false;
  private lastFrameAt = 0;
  private readonly gate: SourceGate;
  private speakersVersion = 0;
  /** The map last written to the open recording's manifest. */
  private speakersNoted: SpeakerMap | undefined;
  /** Why a resumable fault closes the socket (the `lost` span's reason). */
  private cause: string | undefined;
  /**
   * Set when the peer's END is taken: the end owns the session from then on. Without it a socket
   * closed while the end awaits Redis would be taken for a lost connection, close the recording
   * under the end, and the end's finalize would find it closed.
   */
  private ending: Promise<void> | undefined;
  /** The loss handling of a closed socket (report, markLost), while it runs. */
  private closing: Promise<void> = Promise.resolve();
  private readonly now: () => number;
  private readonly tel: SessionTelemetry;

  constructor(
    private readonly socket: TLSSocket,
    private readonly deps: SessionDeps,
  ) {
    this.now = deps.now ?? Date.now;
    const telemetry = deps.telemetry ?? new MediaTelemetry();
    this.tel = telemetry.session();
    this.gate = new SourceGate({
      dropped: (frames) => this.tel.media.dropped('unannounced-source', frames),
    });
    this.frames = new FrameQueue({
      socket,
      openRecording: async () => {
        const recording = await deps.openRecording(this.callId!);
        // every opening (first, or a continuation on another process) starts with who is who
        const sources = this.gate.speakers ?? {};
        await recording.noteSpeakers(this.now(), sources);
        this.speakersNoted = sources;
        return recording;
      },
      writing: () => this.state === 'streaming',
      allowed: () => this.persist,
      onWriteError: (error) => {
        telemetry.writeError();
        const { code, message } = error as { code?: string; message?: string };
        this.fail(code === 'ENOSPC' ? 'disk full' : `recording write failed: ${message}`, false);
      },
      telemetry,
    });
    this.later(deps.settings.handshakeTimeoutMs, () => {
      if (this.state === 'handshake') this.refuse('handshake-timeout');
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: Error) =>
      deps.logger.debug({ err: err.message, callId: this.callId }, 'media socket error'),
    );
    socket.on('close', () => void this.lose());
  }

  /** Resolves once what a closed socket set off (loss report, reconnect window set) is done. */
  settled(): Promise<void> {
    return this.closing;
  }

  /** Stop for a process shutdown: flush what was received, keep the session resumable. */
  async drain(): Promise<void> {
    if (this.ending) return this.ending;
    // a socket lost just before: let its loss be recorded, then drop the reconnect window (the
    // orphan sweeper ends an unresumed session, as it does when a process dies)
    await this.closing;
    if (this.state !== 'streaming') return this.close();
    this.cause = 'media process draining';
    this.socket.pause();
    await this.frames.close();
    const closed = this.socket.closed
      ? Promise.resolve()
      : new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
    this.socket.destroy(); // no END: the peer resumes on another media process
    // the loss that closing set off is recorded before the drain ends (it is what lets the peer
    // resume elsewhere), and this process keeps no reconnect window
    await closed;
    await this.closing;
    this.stopTimers();
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'handshake') this.tel.handshakeStarted();
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (error) {
      this.tel.media.protocolError();
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
    this.setState('closed'); // no second HELLO while this one is checked
    const { callId } = frame;
    this.tel.hello(callId);
    const now = this.now();
    let modalities: Modality[] | undefined;
    try {
      if (frame.credential) {
        const claims = this.deps.credentials.check(frame.credential, 'call', callId, now);
        if (!(await this.deps.store.claimNonce(callId, claims.nonce, claims.exp - now + 60_000))) {
          return this.refuse('reused');
        }
        this.sessionId = randomUUID();
        modalities = claims.modalities;
        await this.deps.store.start(callId, this.sessionId, this.deps.owner);
      } else if (frame.resume) {
        const claims = this.deps.credentials.check(frame.resume, 'resume', callId, now);
        // only a lost session, and only within its window (not one still streaming elsewhere)
        const resumed = await this.deps.store.resume(callId, claims.sessionId, this.deps.owner, {
          now,
          windowMs: this.deps.settings.reconnectWindowMs,
        });
        if (resumed !== 'ok') return this.refuse(resumed);
        this.sessionId = claims.sessionId;
        modalities = claims.modalities;
      } else {
        return this.refuse('malformed');
      }
    } catch (error) {
      if (error instanceof CredentialError) return this.refuse(error.reason);
      this.deps.logger.error({ err: error, callId }, 'media handshake failed');
      return this.refuse('unavailable');
    }
    const resumed = !frame.credential;
    this.callId = callId;
    this.setState('streaming');
    this.tel.accepted(callId, this.sessionId, resumed);
    this.lastFrameAt = this.now();
    const { heartbeatMs, reconnectWindowMs, maxTimestampJumpMs, maxUnmixedSources } =
      this.deps.settings;
    const answered = modalities ?? ['audio'];
    this.guard = new FrameGuard(
      { maxJumpMs: maxTimestampJumpMs, maxUnmixedSources, modalities: answered },
      this.now,
    );
    // the token outlives the session's streaming time; the store honours it only while the
    // session is lost and within its reconnect window
    const resume = this.deps.credentials.mintResume(
      callId,
      this.sessionId,
      this.now() + 24 * 3600_000,
      answered,
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
    // from now on the media server's poll reads the call every PERSIST_POLL_MS (`pollDue`)
    await this.refreshCall();
    await this.report(resumed ? 'resumed' : 'connected', {
      type: 'MEDIA.CONNECTED',
      at: this.now(),
    });
    // the peer left while its HELLO was checked: its 'close' came too early to count, so
    // without this the session would stream forever (timers, gauge, Redis state)
    if (this.socket.destroyed) await this.lose();
  }

  private onFrame(frame: Frame): void {
    if (this.cause) return; // failing or draining: what follows in the same chunk is not taken
    this.lastFrameAt = this.now();
    if (frame.type === 'end') {
      this.ending ??= this.end(frame.reason);
      return;
    }
    if (frame.type !== 'audio' && frame.type !== 'video') return; // heartbeat, dominant speaker
    const admission = this.guard!.admit(frame);
    if (admission.verdict === 'error') {
      this.tel.media.protocolError();
      return this.fail(admission.message, true);
    }
    if (admission.verdict === 'drop') return this.tel.media.dropped(admission.reason);
    if (!this.flowingReported) {
      this.flowingReported = true;
      void this.report('flowing', { type: 'MEDIA.FLOWING', at: this.now() });
    }
    if (!this.persist) return this.tel.media.dropped('before-confirmation');
    if (
      frame.type === 'audio' &&
      frame.kind === 'unmixed' &&
      !this.gate.announced(frame.sourceId)
    ) {
      return this.gate.hold(frame, this.now());
    }
    this.frames.push(frame);
  }

  /** Re-reads the roster's sources when the call changed; notes and applies a new map. */
  private async refreshSpeakers(): Promise<void> {
    if (!this.callId) return;
    let read: CallMediaState['speakers'] | 'failed';
    try {
      read = await this.deps.store.speakers(this.callId, this.speakersVersion);
    } catch {
      read = 'failed'; // the next poll tries again
    }
    await this.applySpeakers(read);
  }

  private async applySpeakers(read: CallMediaState['speakers'] | 'failed'): Promise<void> {
    try {
      if (read !== 'unchanged' && read !== undefined && read !== 'failed') {
        this.speakersVersion = read.version;
        this.gate.speakers = read.sources;
        const recording = this.frames.recording;
        if (recording && JSON.stringify(read.sources) !== JSON.stringify(this.speakersNoted)) {
          this.speakersNoted = read.sources;
          await recording.noteSpeakers(this.now(), read.sources);
        }
      }
    } catch {
      // the recording failed: the next poll tries again; writes report their own faults
    }
    const open = this.state === 'streaming' && this.persist;
    this.gate.release(this.now(), open, (frame) => this.frames.push(frame));
  }

  /**
   * What the media server's poll (every PERSIST_POLL_MS, all sessions in one round trip) is to
   * read for this session now: nothing unless it streams, and nothing while a read of its own
   * is in flight (the poll may outrun a slow Redis).
   */
  pollDue(): CallPoll | undefined {
    if (this.state !== 'streaming' || !this.callId || this.refreshing) return undefined;
    return { callId: this.callId, sinceVersion: this.speakersVersion };
  }

  /** The poll's read for `poll` (undefined: it failed), taken as a read of its own would be. */
  polled(poll: CallPoll, read: CallMediaState | undefined): Promise<void> {
    // something else read the call meanwhile: the next poll reads it again
    if (this.refreshing || this.state !== 'streaming' || poll.sinceVersion !== this.speakersVersion)
      return Promise.resolve();
    return (this.refreshing = this.applyCallState(read).finally(
      () => (this.refreshing = undefined),
    ));
  }

  /** One read of the call (its persist flag and, when it changed, its roster's sources). */
  private refreshCall(): Promise<void> {
    return (this.refreshing ??= this.readCall().finally(() => (this.refreshing = undefined)));
  }

  private async readCall(): Promise<void> {
    if (!this.callId) return;
    const read = await this.deps.store
      .callState(this.callId, this.speakersVersion)
      .catch(() => undefined);
    await this.applyCallState(read);
  }

  private async applyCallState(read: CallMediaState | undefined): Promise<void> {
    if (!read) {
      this.persist = false; // Redis unreachable: do not write what may not be allowed
      await this.applySpeakers('failed');
      return;
    }
    await this.applyPersist(read.persist);
    await this.applySpeakers(read.speakers);
  }

  private async applyPersist(flag: CallMediaState['persist']): Promise<void> {
    const wasPersisting = this.persist;
    this.persist = flag.allowed; // from false on, frames are dropped, even the batch in flight
    if (flag.allowed) return;
    if (wasPersisting) {
      // recording stopped: nothing more is written, what was written is flushed to disk
      this.frames.drop('recording-stopped');
      await this.frames.flush();
      await this.frames.recording?.flush().catch(() => undefined);
    }
    const gen = flag.stopGen;
    if (gen !== undefined && gen !== this.stopConfirmed && this.state === 'streaming') {
      this.stopConfirmed = gen;
      await this.report('stopped', { type: 'MEDIA.STOPPED', at: this.now(), gen });
    }
  }

  /** END from the peer: finalise the recording. */
  private async end(reason: string): Promise<void> {
    if (this.state !== 'streaming') return;
    await this.refreshSpeakers(); // audio held for a roster change that just landed
    await this.frames.flush();
    this.setState('ended');
    this.stopTimers();
    try {
      await (this.frames.recording ?? (await this.existingRecording()))?.finalize();
    } catch (error) {
      this.deps.logger.warn({ err: error, callId: this.callId }, 'finalising the recording failed');
    }
    await this.deps.store.markEnded(this.callId!, this.sessionId!).catch(() => undefined);
    await this.report('ended', { type: 'MEDIA.ENDED', at: this.now() }, reason);
    this.deps.logger.info({ callId: this.callId, reason }, 'media stream ended');
    this.socket.end();
  }

  /** A fault: `resumable` ones open the reconnect window, others end the session. */
  private fail(reason: string, resumable: boolean): void {
    if (this.state !== 'streaming' || this.ending) return;
    if (!resumable) {
      this.setState('ended');
      this.stopTimers();
      this.send({ type: 'end', reason: 'recording-failed' });
      void this.deps.store.markEnded(this.callId!, this.sessionId!).catch(() => undefined);
      void this.report('fault', { type: 'MEDIA.FAULT', at: this.now(), reason });
      this.socket.end();
      return;
    }
    // Read nothing more, but let the END reach the peer before the socket goes: it tells the
    // peer to reconnect (with its resume token) instead of giving up.
    this.cause = reason;
    this.socket.pause();
    this.send({ type: 'end', reason: 'protocol-error' });
    this.socket.end();
    this.later(500, () => this.socket.destroy());
  }

  private lose(): Promise<void> {
    const previous = this.closing;
    this.closing = previous
      .then(() => this.onClose())
      .catch((err: unknown) =>
        this.deps.logger.warn({ err, callId: this.callId }, 'recording a lost media socket failed'),
      );
    return this.closing;
  }

  private async onClose(): Promise<void> {
    this.stopTimers();
    if (this.state !== 'streaming' || this.ending) return;
    this.setState('lost');
    const callId = this.callId!;
    const sessionId = this.sessionId!;
    const lostAt = this.now();
    await this.frames.close();
    await this.deps.store.markLost(callId, sessionId, lostAt).catch(() => undefined);
    const lost = { type: 'MEDIA.LOST', at: lostAt, reason: 'connection lost' } as const;
    await this.report('lost', lost, this.cause ?? lost.reason);
    this.later(this.deps.settings.reconnectWindowMs, () => {
      void (async () => {
        if (!(await this.deps.store.endIfStillLost(callId, sessionId, lostAt).catch(() => false)))
          return;
        this.setState('ended');
        const endedAt = this.now();
        const reason = 'media lost beyond the reconnect window';
        await this.report('fault', { type: 'MEDIA.FAULT', at: endedAt, reason });
        // the unresumed time is a gap the manifest lists, as the orphan sweeper's path does
        const recording = await this.existingRecording();
        await recording?.noteGap(lostAt, endedAt, reason).catch(() => undefined);
        await recording?.finalize().catch(() => undefined);
      })();
    });
  }

  /** The call's recording if one exists on disk; never creates one (nothing before consent). */
  private async existingRecording(): Promise<Recording | undefined> {
    if (!this.callId || !(await this.deps.hasRecording(this.callId))) return undefined;
    return this.deps.openRecording(this.callId).catch(() => undefined);
  }

  private refuse(reason: string): void {
    this.tel.refused(reason);
    this.deps.logger.info({ reason }, 'media handshake refused');
    this.setState('closed');
    this.stopTimers();
    this.send({ type: 'refuse', reason });
    this.socket.end();
    this.later(500, () => this.socket.destroy());
  }

  private close(): Promise<void> {
    this.setState('closed');
    this.stopTimers();
    this.socket.destroy();
    return Promise.resolve();
  }

  /** The one place the state changes: a stream is counted while, and only while, streaming. */
  private setState(next: State): void {
    if (next === this.state) return;
    if (next === 'streaming') this.tel.media.streams(1);
    else if (this.state === 'streaming') this.tel.media.streams(-1);
    this.state = next;
  }

  /** Tells the call (through its `applyEvent`) in a `media.state` span. */
  private report(
    state: MediaState,
    event: CallEvent,
    reason = 'reason' in event ? event.reason : undefined,
  ): Promise<void> {
    return this.tel.state(state, reason, () => this.deps.report(this.callId!, event));
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
