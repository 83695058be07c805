/**
 * Misbehaving connections a media process must withstand, run next to the media peer's own
 * connection (docs/media-protocol.md "The handshake", "Transport"): a second use of the call
 * credential, plaintext instead of TLS, and a TLS client that never says HELLO. Each resolves
 * with what the server did; none of them touches the peer's session.
 */
import { connect } from 'node:net';
import { FrameDecoder, encodeFrame, type Frame } from '@cr-orchestrator/media-protocol';
import type { Clock } from './clock.js';
import { handshake, tlsConnect, type MediaTarget } from './media-link.js';

export interface Probe {
  target: MediaTarget;
  /** The HELLO with the call's original credential. */
  hello: Extract<Frame, { type: 'hello' }>;
  /** Deadline of the connection (and of an answer to HELLO). */
  timeoutMs: number;
  /** The simulator's clock, for that deadline. */
  clock: Clock;
  /** Every REFUSE reason received. */
  onRefusal: (reason: string) => void;
}

/** HELLO with the (already used) credential on a fresh TLS connection. */
export async function reuseCredential({
  target,
  hello,
  timeoutMs,
  clock,
  onRefusal,
}: Probe): Promise<string> {
  const result = await handshake(target, hello, timeoutMs, clock);
  if (result.ok) {
    result.socket.destroy(); // no END: that would end the call's real session
    return 'accepted';
  }
  if (result.refused !== undefined) {
    onRefusal(result.refused);
    return result.refused;
  }
  return `error:${result.error}`;
}

/** The HELLO bytes over plain TCP to the TLS port. */
export function connectPlaintext({
  target,
  hello,
  timeoutMs,
  clock,
  onRefusal,
}: Probe): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port });
    const decoder = new FrameDecoder();
    let connected = false;
    const done = (outcome: string) => {
      clock.clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = clock.setTimeout(() => done('open'), timeoutMs);
    timer.unref();
    socket.on('connect', () => {
      connected = true;
      socket.write(encodeFrame(hello));
    });
    socket.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch {
        return; // a TLS alert, not a frame: wait for the server to hang up
      }
      for (const f of frames) {
        if (f.type === 'refuse') {
          onRefusal(f.reason);
          return done(`refused:${f.reason}`);
        }
        if (f.type === 'welcome') return done('accepted');
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) =>
      done(connected ? 'closed' : `error:${err.code ?? err.message}`),
    );
    socket.on('close', () => done('closed'));
  });
}

/** A TLS connection that sends nothing for `ms` after the TLS handshake. */
export function slowHandshake(
  { target, timeoutMs: connectTimeoutMs, clock, onRefusal }: Probe,
  ms: number,
): Promise<string> {
  return new Promise((resolve) => {
    const socket = tlsConnect(target);
    const decoder = new FrameDecoder();
    let secure = false;
    let timer = clock.setTimeout(() => done('error:TLS handshake timed out'), connectTimeoutMs);
    timer.unref();
    const done = (outcome: string) => {
      clock.clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    socket.once('secureConnect', () => {
      secure = true;
      clock.clearTimeout(timer);
      timer = clock.setTimeout(() => done('open'), ms);
      timer.unref();
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const f of decoder.push(chunk)) if (f.type === 'refuse') onRefusal(f.reason);
      } catch {
        // not ours to judge: only whether the server hangs up counts
      }
    });
    socket.on('error', (err: Error) => done(secure ? 'closed' : `error:${err.message}`));
    socket.on('close', () => done(secure ? 'closed' : 'error:closed during the TLS handshake'));
  });
}
