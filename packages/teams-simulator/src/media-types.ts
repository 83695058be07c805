/**
 * Public types of the simulator's media peer (docs/teams-protocol.md#media): the side of Teams that
 * connects to the bot's media endpoint named in the answer's blob and streams a call's media
 * over cr-media/1 (docs/media-protocol.md). Re-exported by `types.ts` and `index.ts`.
 */

/** `SimulatorOptions.media`. */
export interface SimMediaOptions {
  /** Connect to the answer's media endpoint and stream; per call `PlaceCallOptions.media`. @default false */
  enabled?: boolean;
  /**
   * Real time between two 20 ms ticks; smaller runs faster than real time. Timestamps still
   * advance by 20 ms a tick. @default 20
   */
  paceMs?: number;
  /** Also send fake H.264 for every video MSI of the roster. @default false */
  video?: boolean;
  /**
   * TCP + TLS + HELLO→WELCOME of the first connection must succeed within this, or the bot's
   * leg ends 500/1005 (docs/teams-protocol.md#call-states). @default 5000
   */
  connectTimeoutMs?: number;
}

/**
 * idle: no (cr-media/1) blob yet; connecting: first connection; streaming: WELCOME received;
 * reconnecting: lost, resuming within the window; ended: stopped by the call's end;
 * failed: the first connection failed (leg ended 500/1005) or the window passed.
 */
export type SimMediaPeerState =
  'idle' | 'connecting' | 'streaming' | 'reconnecting' | 'ended' | 'failed';

/** The answer's `mediaConfig.blob` when it is ours (other blobs are ignored). */
export interface SimMediaBlob {
  protocol: 'cr-media/1';
  /** `tls://host:port` */
  mpUri: string;
  callId: string;
  credential: string;
}

/** One audio frame written to the media socket; `pcm` is null for a silence frame. */
export interface SimSentAudio {
  timestamp: number;
  pcm: Buffer | null;
}

export interface SimSentVideo {
  timestamp: number;
  /** One H.264 access unit, Annex B. */
  data: Buffer;
  keyframe: boolean;
}

export interface SimMediaWelcome {
  sessionId: string;
  resume: string;
  heartbeatMs: number;
  reconnectWindowMs: number;
}

/** `SimCall.media`: present when media is enabled for the call. */
export interface SimMediaPeer {
  readonly state: SimMediaPeerState;
  /** The parsed blob of the accepted answer (undefined while idle). */
  readonly blob?: SimMediaBlob;
  /** Why the peer failed, when `state` is 'failed'. */
  readonly failure?: string;
  /**
   * Every audio frame written to a live socket, by track: 'mixed' or `src-${sourceId}`. Frames
   * of ticks that could not be sent (disconnected, stalled, socket backed up) are not here.
   */
  readonly sent: Map<string, SimSentAudio[]>;
  /** Every video frame written, by `src-${sourceId}`. */
  readonly videoSent: Map<string, SimSentVideo[]>;
  /** Every DOMINANT_SPEAKER frame written. */
  readonly dominantSpeakers: { timestamp: number; sourceId: number }[];
  /** Media-clock timestamps of the first and last tick of every run of unsent ticks. */
  readonly gaps: { from: number; to: number }[];
  /** REFUSE reasons received, by the peer and by its probes, in order. */
  readonly refusals: string[];
  /** END reasons received from the media process. */
  readonly ends: string[];
  /** Connections that got a WELCOME (the first one plus every resume). */
  readonly connects: number;
  /** Connections tried by the peer (probes not counted). */
  readonly attempts: number;
  readonly heartbeatsSent: number;
  /** The latest WELCOME. */
  readonly welcome?: SimMediaWelcome;
  /** Reconnect here instead of the blob's mpUri (another media process), `tls://host:port`. */
  reconnectUri?: string;
  /**
   * Resolves once `state` is reached (now or later); rejects on timeout, or when the peer
   * ended or failed instead. @param timeoutMs @default 10000
   */
  waitFor(state: SimMediaPeerState, timeoutMs?: number): Promise<void>;
  /** Destroy the socket without END; the peer then resumes with its token. */
  dropSocket(): void;
  /** Send nothing at all (frames, heartbeats, reconnects) for `ms`; the media clock runs on. */
  stall(ms: number): void;
  /** Write bytes on the live socket. @default 64 random bytes whose first (version) byte is 0xff */
  sendGarbage(bytes?: Buffer): void;
  /** A second TLS connection with the original credential: the REFUSE reason, or 'accepted'. */
  reuseCredential(): Promise<string>;
  /**
   * Plain TCP to the media port with the HELLO bytes: 'closed' when the server hung up,
   * 'refused:<reason>', 'accepted', 'open' (no answer in time) or 'error:<code>'.
   */
  connectPlaintext(): Promise<string>;
  /**
   * TLS connect, then send nothing for `ms`: 'closed' when the server hung up first (any REFUSE
   * it sent is in `refusals`), 'open' otherwise, or 'error:<message>'.
   */
  slowHandshake(ms: number): Promise<string>;
}
