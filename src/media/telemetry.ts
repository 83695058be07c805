/**
 * The media process's spans and metrics, kept apart from the session's state machine.
 *
 * - `media.handshake` (SERVER): from the first byte of a connection to the WELCOME or REFUSE,
 *   with the call id the HELLO claims, the outcome and the refusal reason. Never the credential
 *   or the resume token.
 * - `media.state <state>`: one short span per state change of a session (connected, resumed,
 *   flowing, lost, ended, fault), wrapping the report to the call, so the call's `applyEvent`
 *   is its child. Each starts its own trace and links to the call's first trace when the call
 *   stored one (`StoredCall.trace`), like every later event of a call
 * (docs/architecture.md#every-hop-is-traced).
 * - The instruments of `mediaInstruments()`: the process's only counters. Tests read them
 *   through a meter provider of their own (`meterProvider`); without an SDK they are no-ops.
 *
 * The call's first trace is read (one Redis read per session) only once a peer is
 * authenticated, and only while spans are recorded.
 */
import type { MeterProvider, Span } from '@opentelemetry/api';
import {
  ATTR,
  linkTo,
  mediaInstruments,
  ROOT_CONTEXT,
  SpanKind,
  tracer,
  withSpan,
  type MediaInstruments,
  type TraceCarrier,
} from '../telemetry/index.js';
import type { ConnectionCloseReason } from './connection-guard.js';
import type { Gap } from './recording/index.js';

export type MediaState =
  'connected' | 'resumed' | 'flowing' | 'lost' | 'ended' | 'fault' | 'stopped';

/**
 * Why received frames were not written: before Teams confirmed recording, after the recording
 * was stopped, older than what their track holds, lost with a failed write, or still queued
 * when the session stopped streaming; a modality the answer did not accept, or an unmixed
 * source beyond the per-20 ms limit (./frame-guard.ts).
 */
export type DropReason =
  | 'before-confirmation'
  | 'recording-stopped'
  | 'late'
  | 'write-error'
  | 'stream-closed'
  | 'modality-not-answered'
  | 'source-limit'
  | 'unannounced-source';

export interface MediaTelemetryOptions {
  /** The call's first trace, which media spans link to; may reject. @default none */
  firstTrace?: (callId: string) => Promise<TraceCarrier | undefined>;
  /** @default the global meter (create this after the SDK started) */
  meterProvider?: MeterProvider;
}

/** The telemetry of one media process; `session()` for each connection. */
export class MediaTelemetry {
  private readonly instruments: MediaInstruments;

  constructor(private readonly options: MediaTelemetryOptions = {}) {
    this.instruments = mediaInstruments(options.meterProvider);
  }

  session(): SessionTelemetry {
    return new SessionTelemetry(this, this.options.firstTrace);
  }

  /** A session started (+1) or stopped (-1) streaming. */
  streams(delta: 1 | -1): void {
    this.instruments.streams.add(delta);
  }

  written(frames: number): void {
    if (frames <= 0) return;
    this.instruments.framesWritten.add(frames);
  }

  dropped(reason: DropReason, frames = 1): void {
    if (frames <= 0) return;
    this.instruments.framesDropped.add(frames, { [ATTR.dropReason]: reason });
  }

  /** A frame broke cr-media/1 (the session or handshake ends). */
  protocolError(): void {
    this.instruments.protocolErrors.add(1);
  }

  /** A recording write failed (the session reports the fault). */
  writeError(): void {
    this.instruments.writeErrors.add(1);
  }

  /** A connection closed before it had a session. */
  connectionClosed(reason: ConnectionCloseReason): void {
    this.instruments.connectionsClosed.add(1, { [ATTR.closeReason]: reason });
  }

  /** A gap the recording's manifest now lists (RecordingOptions.onGap). */
  gap(gap: Gap): void {
    this.instruments.recordingGaps.add(1, { [ATTR.gapReason]: gap.reason });
  }

  refused(reason: string): void {
    this.instruments.refused.add(1, { [ATTR.refusal]: reason });
  }

  welcomed(resumed: boolean): void {
    this.instruments.sessions.add(1, { [ATTR.handshakeOutcome]: resumed ? 'resumed' : 'accepted' });
  }
}

/** The spans of one connection: its handshake, then its state changes. */
export class SessionTelemetry {
  private handshake: Span | undefined;
  private traced = false;
  private callId: string | undefined;
  private sessionId: string | undefined;
  private firstTrace: Promise<TraceCarrier | undefined> | undefined;
  private readonly openedAt = performance.now();

  constructor(
    readonly media: MediaTelemetry,
    private readonly loadFirstTrace?: (callId: string) => Promise<TraceCarrier | undefined>,
  ) {}

  /** The first bytes arrived: the handshake span starts (once). */
  handshakeStarted(startTime: number = performance.now()): void {
    if (this.handshake) return;
    this.handshake = tracer().startSpan(
      'media.handshake',
      { kind: SpanKind.SERVER, startTime },
      ROOT_CONTEXT,
    );
    this.traced = this.handshake.isRecording();
  }

  /** The call a HELLO names; not yet authenticated. */
  hello(callId: string): void {
    this.handshake?.setAttribute(ATTR.callId, callId);
  }

  /** WELCOME: the session is counted; the handshake span ends, linked to the call's first trace. */
  accepted(callId: string, sessionId: string, resumed: boolean): void {
    this.callId = callId;
    this.sessionId = sessionId;
    this.media.welcomed(resumed);
    const span = this.handshake;
    if (!span) return;
    span.setAttributes({
      [ATTR.callId]: callId,
      [ATTR.mediaSession]: sessionId,
      [ATTR.handshakeOutcome]: resumed ? 'resumed' : 'accepted',
    });
    const end = performance.now();
    void this.trace().then((carrier) => {
      span.addLinks(linkTo(carrier));
      span.end(end);
    });
  }

  refused(reason: string): void {
    this.media.refused(reason);
    this.handshakeStarted(this.openedAt); // refused before any byte (handshake timeout)
    this.handshake?.setAttributes({
      [ATTR.handshakeOutcome]: 'refused',
      [ATTR.refusal]: reason,
    });
    this.handshake?.end();
  }

  /** Runs `report` (the state change told to the call) in a `media.state <state>` span. */
  state(state: MediaState, reason: string | undefined, report: () => Promise<void>): Promise<void> {
    const attributes = {
      [ATTR.mediaState]: state,
      ...(this.callId ? { [ATTR.callId]: this.callId } : {}),
      ...(this.sessionId ? { [ATTR.mediaSession]: this.sessionId } : {}),
      ...(reason ? { [ATTR.mediaReason]: reason } : {}),
    };
    // every state change waits for the same read, so reports keep the order they were made in
    return this.trace().then((carrier) =>
      withSpan(
        `media.state ${state}`,
        { parent: ROOT_CONTEXT, links: linkTo(carrier), attributes },
        report,
      ),
    );
  }

  private trace(): Promise<TraceCarrier | undefined> {
    if (!this.traced || !this.callId || !this.loadFirstTrace) return Promise.resolve(undefined);
    const [load, callId] = [this.loadFirstTrace, this.callId];
    // telemetry never fails the session: a missing or unreadable trace is no link
    return (this.firstTrace ??= (async () => load(callId))().catch(() => undefined));
  }
}
