/**
 * A media peer independent of the simulator's, for tests of when recording stops: it streams
 * mixed audio whose every sample carries the frame's index, positive (pattern A) until `switched()`
 * first says true, negative (pattern B) from then on. A recording holding any negative sample
 * kept media sent after the switch, whatever its timing.
 */
import { connect, type TLSSocket } from 'node:tls';
import {
  encodeFrame,
  FRAME_MS,
  FrameDecoder,
  MEDIA_ALPN,
  PCM_FRAME_BYTES,
  type Frame,
} from '@cr-orchestrator/media-protocol';

export interface SentFrame {
  index: number;
  timestamp: number;
  /** Local time the frame was written to the socket. */
  sentAt: number;
  pattern: 'A' | 'B';
}

/** The PCM of frame `index`: every sample ±(index % 30000 + 1). */
export function patternPcm(index: number, pattern: 'A' | 'B'): Buffer {
  const value = ((index % 30_000) + 1) * (pattern === 'A' ? 1 : -1);
  const pcm = Buffer.alloc(PCM_FRAME_BYTES);
  for (let i = 0; i < PCM_FRAME_BYTES; i += 2) pcm.writeInt16LE(value, i);
  return pcm;
}

/** Frames of each pattern found in 16-bit PCM (a WAV's data, a raw segment). */
export function patternsIn(pcm: Buffer): { A: number; B: number } {
  const seen = { A: new Set<number>(), B: new Set<number>() };
  for (let i = 0; i + 1 < pcm.length; i += 2) {
    const v = pcm.readInt16LE(i);
    if (v > 0) seen.A.add(v);
    else if (v < 0) seen.B.add(v);
  }
  return { A: seen.A.size, B: seen.B.size };
}

export class PatternPeer {
  readonly sent: SentFrame[] = [];
  /** When the first B frame was sent. */
  switchedAt: number | undefined;
  welcome: Extract<Frame, { type: 'welcome' }> | undefined;
  refused: string | undefined;
  private socket: TLSSocket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly t0 = Math.floor(Date.now() / FRAME_MS) * FRAME_MS;

  constructor(
    private readonly port: number,
    private readonly callId: string,
    private readonly switched: () => boolean,
  ) {}

  /** HELLO with `credential` (or `resume`), then 20 ms frames until `stop()`. */
  async start(hello: { credential: string } | { resume: string }): Promise<Frame> {
    const socket = connect({
      host: '127.0.0.1',
      port: this.port,
      servername: 'localhost',
      ALPNProtocols: [MEDIA_ALPN],
    });
    this.socket = socket;
    socket.on('error', () => undefined);
    const decoder = new FrameDecoder();
    const first = await new Promise<Frame>((resolve, reject) => {
      socket.on('secureConnect', () =>
        socket.write(encodeFrame({ type: 'hello', callId: this.callId, peer: 'test', ...hello })),
      );
      socket.on('data', (chunk: Buffer) => {
        for (const frame of decoder.push(chunk)) resolve(frame);
      });
      socket.on('close', () => reject(new Error('closed before an answer')));
    });
    if (first.type === 'welcome') this.welcome = first;
    if (first.type === 'refuse') this.refused = first.reason;
    if (first.type === 'welcome') this.timer = setInterval(() => this.tick(), FRAME_MS);
    return first;
  }

  private tick(): void {
    const socket = this.socket;
    if (!socket || socket.destroyed || !socket.writable) return;
    const index = this.sent.length === 0 ? 0 : this.sent.at(-1)!.index + 1;
    const pattern = this.switchedAt !== undefined || this.switched() ? 'B' : 'A';
    const sentAt = Date.now();
    if (pattern === 'B') this.switchedAt ??= sentAt;
    const timestamp = this.t0 + index * FRAME_MS;
    const pcm = patternPcm(index, pattern);
    socket.write(
      encodeFrame({ type: 'audio', kind: 'mixed', sourceId: 0, timestamp, silence: false, pcm }),
    );
    this.sent.push({ index, timestamp, sentAt, pattern });
  }

  count(pattern: 'A' | 'B'): number {
    return this.sent.filter((f) => f.pattern === pattern).length;
  }

  /** END (the recording is finalised), or just drop the connection. */
  stop(how: 'end' | 'drop' = 'end'): void {
    clearInterval(this.timer);
    const socket = this.socket;
    if (!socket) return;
    if (how === 'end' && socket.writable) socket.end(encodeFrame({ type: 'end', reason: 'test' }));
    else socket.destroy();
  }
}
