/**
 * A media server on real TLS sockets, real Redis and real files, and a hand-driven peer that
 * can send whatever a hostile one would: the attack suite's media half (test/hostile/).
 */
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { pino } from 'pino';
import { expect } from 'vitest';
import type { CallEvent } from '../../machines/call.js';
import { callKeys } from '../../src/redis/keys.js';
import type { Modality } from '../../src/config.js';
import type { ConnectionLimits } from '../../src/media/connection-guard.js';
import { MediaCredentials } from '../../src/media/credentials.js';
import { encodeFrame, FrameDecoder, MEDIA_ALPN, type Frame } from '@cr-orchestrator/media-protocol';
import { openRecording } from '../../src/media/recording/index.js';
import { startMediaServer, type MediaServer } from '../../src/media/server.js';
import { createMediaSessionStore, type MediaSessionStore } from '../../src/media/session-store.js';
import type { SessionSettings } from '../../src/media/session.js';
import { MediaTelemetry } from '../../src/media/telemetry.js';
import { testMetrics, type TestMetrics } from './metrics.js';
import { manifestOf, type ManifestEntry } from './recordings.js';
import { deleteByPrefix, plainRedis, uniquePrefix } from './redis.js';
import { eventually } from './system.js';

export interface HostileMedia {
  server: MediaServer;
  port: number;
  /** The server's instruments (cr.media.*). */
  metrics: TestMetrics;
  store: MediaSessionStore;
  credentials: MediaCredentials;
  recordingsDir: string;
  /** What each call was told, in order. */
  events: Map<string, CallEvent[]>;
  /**
   * Teams confirmed recording: the media process may write the call; its roster announces
   * source ids 1..`sources` (one participant each), as a committed call snapshot would.
   */
  persist(callId: string, sources?: number): Promise<void>;
  /** Resolves once the call was told `type` (e.g. MEDIA.CONNECTED). */
  told(callId: string, type: CallEvent['type']): Promise<true>;
  /** The segment entries of the call's manifest (none when nothing was written). */
  segments(callId: string): Promise<ManifestEntry[]>;
  close(): Promise<void>;
}

/** Session settings of a media server under test: short windows, the production limits. */
export const TEST_SESSION_SETTINGS: SessionSettings = {
  heartbeatMs: 1000,
  reconnectWindowMs: 1000,
  handshakeTimeoutMs: 1000,
  maxTimestampJumpMs: 60_000,
  maxUnmixedSources: 4,
};

export interface HostileMediaOptions {
  settings?: Partial<SessionSettings>;
  connections?: Partial<ConnectionLimits>;
  /** The store the server is given, made from the real one (to watch what it is asked). */
  wrapStore?: (store: MediaSessionStore) => MediaSessionStore;
}

export async function startHostileMedia(
  name: string,
  options: HostileMediaOptions = {},
): Promise<HostileMedia> {
  const redis = plainRedis();
  const prefix = uniquePrefix(name);
  const recordingsDir = await mkdtemp(join(tmpdir(), `cr-${name}-`));
  const metrics = testMetrics();
  const credentials = new MediaCredentials('h'.repeat(32));
  const store = createMediaSessionStore(redis, prefix);
  const events = new Map<string, CallEvent[]>();
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const open = (callId: string) => openRecording({ rootDir: recordingsDir, callId, fsync: false });
  const server = await startMediaServer({
    host: '127.0.0.1',
    port: 0,
    certFile: process.env.TEST_MEDIA_CERT_FILE!,
    keyFile: process.env.TEST_MEDIA_KEY_FILE!,
    logger,
    connections: { maxConnections: 100, tlsTimeoutMs: 1000, ...options.connections },
    session: {
      owner: `${name}-owner`,
      settings: { ...TEST_SESSION_SETTINGS, ...options.settings },
      store: options.wrapStore?.(store) ?? store,
      credentials,
      openRecording: open,
      hasRecording: (callId) =>
        access(join(recordingsDir, callId, 'manifest.jsonl')).then(
          () => true,
          () => false,
        ),
      report: (callId, event) => {
        events.set(callId, [...(events.get(callId) ?? []), event]);
        return Promise.resolve();
      },
      telemetry: new MediaTelemetry({ meterProvider: metrics.meterProvider }),
      logger,
    },
  });
  await store.keepAlive(`${name}-owner`, 600_000);
  const media: HostileMedia = {
    server,
    port: server.port,
    metrics,
    store,
    credentials,
    recordingsDir,
    events,
    persist: async (callId, sources = 16) => {
      const participants = Object.fromEntries(
        Array.from({ length: sources }, (_, i) => [
          `p${i + 1}`,
          { id: `p${i + 1}`, kind: 'user', identities: [], sources: { audio: String(i + 1) } },
        ]),
      );
      await redis.hset(callKeys(prefix, callId).call, {
        persist: '1',
        v: '1',
        snap: JSON.stringify({ context: { roster: { participants } } }),
      });
    },
    told: (callId, type) =>
      eventually(
        () => (media.events.get(callId)?.some((e) => e.type === type) ? true : undefined),
        8000,
        `${callId} told ${type}`,
      ),
    segments: async (callId) =>
      (await manifestOf(join(recordingsDir, callId)).catch(() => [])).filter(
        (e) => e.type === 'segment',
      ),
    close: async () => {
      await server.close();
      await metrics.close();
      await deleteByPrefix(redis, prefix);
      await redis.quit();
      await rm(recordingsDir, { recursive: true, force: true });
    },
  };
  return media;
}

/** A raw cr-media/1 peer: every frame it is sent is kept; it sends what it is told to. */
export class Peer {
  readonly received: Frame[] = [];
  readonly closed: Promise<void>;
  private readonly decoder = new FrameDecoder();

  private constructor(readonly socket: TLSSocket) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      try {
        this.received.push(...this.decoder.push(chunk));
      } catch {
        socket.destroy();
      }
    });
  }

  /** `alpn` null: offer no ALPN at all. */
  static async connect(port: number, alpn: string[] | null = [MEDIA_ALPN]): Promise<Peer> {
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      rejectUnauthorized: false,
      ...(alpn ? { ALPNProtocols: alpn } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => resolve());
      socket.once('error', reject);
    });
    return new Peer(socket);
  }

  /** Connects and says HELLO; resolves with the WELCOME or REFUSE. */
  static async hello(
    port: number,
    hello: { callId: string; credential?: string; resume?: string },
  ): Promise<{ peer: Peer; answer: Frame }> {
    const peer = await Peer.connect(port);
    peer.send({ type: 'hello', peer: 'hostile', ...hello });
    const answer = await peer.next((f) => f.type === 'welcome' || f.type === 'refuse');
    return { peer, answer };
  }

  send(...frames: Frame[]): void {
    this.socket.write(Buffer.concat(frames.map((f) => encodeFrame(f))));
  }

  next(match: (f: Frame) => boolean, timeoutMs = 5000): Promise<Frame> {
    return eventually(() => this.received.find(match), timeoutMs, 'a frame from the server');
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A call credential for `callId` with the answer's `modalities`. */
export const credentialFor = (
  media: HostileMedia,
  callId: string,
  modalities: Modality[] = ['audio'],
) => media.credentials.mintCall(callId, Date.now(), 120_000, modalities);

/**
 * A session that streams and may write: the call persisted (its roster announcing `sources`),
 * a peer welcomed with a call credential for `modalities`, and the call told MEDIA.CONNECTED
 * (by then the media process has read the persist flag).
 */
export async function streamingPeer(
  media: HostileMedia,
  callId: string,
  options: { sources?: number; modalities?: Modality[] } = {},
): Promise<Peer> {
  await media.persist(callId, options.sources);
  const credential = credentialFor(media, callId, options.modalities);
  const { peer, answer } = await Peer.hello(media.port, { callId, credential });
  expect(answer.type).toBe('welcome');
  await media.told(callId, 'MEDIA.CONNECTED');
  return peer;
}

/** One 20 ms audio frame (silent unless `pcm`). */
export function audio(timestamp: number, sourceId = 0, pcm?: Buffer): Frame {
  return pcm
    ? {
        type: 'audio',
        kind: sourceId ? 'unmixed' : 'mixed',
        sourceId,
        timestamp,
        silence: false,
        pcm,
      }
    : { type: 'audio', kind: sourceId ? 'unmixed' : 'mixed', sourceId, timestamp, silence: true };
}
