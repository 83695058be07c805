/**
 * One cr-media/1 connection attempt of the media peer: TCP + TLS 1.3 (ALPN cr-media/1, the
 * server's name checked against default trust), HELLO, then WELCOME or REFUSE — all within a
 * deadline. Also the blob parsing and the target of a `tls://host:port` URI.
 */
import { isIP } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import { FrameDecoder, MEDIA_ALPN, encodeFrame, type Frame } from '@cr-orchestrator/media-protocol';
import type { Clock } from './clock.js';
import type { SimMediaBlob, SimMediaWelcome } from './media-types.js';

export interface MediaTarget {
  host: string;
  port: number;
}

/** `tls://host:port` → host and port; throws on anything else. */
export function parseMpUri(uri: string): MediaTarget {
  const url = new URL(uri);
  const port = Number(url.port);
  if (url.protocol !== 'tls:' || !url.hostname || !Number.isInteger(port) || port <= 0) {
    throw new Error(`mpUri must be tls://host:port (got ${uri})`);
  }
  // URL keeps IPv6 literals bracketed; sockets want them bare.
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port };
}

/**
 * The blob of an answer when it names cr-media/1; undefined for any other blob (not JSON,
 * another protocol: the real SDK's blobs are opaque). Throws when it claims cr-media/1 but is
 * malformed, since then the platform cannot connect.
 */
export function parseBlob(blob: unknown): SimMediaBlob | undefined {
  if (typeof blob !== 'string') return undefined;
  let o: unknown;
  try {
    o = JSON.parse(blob);
  } catch {
    return undefined;
  }
  const b = o as Partial<Record<keyof SimMediaBlob, unknown>> | null;
  if (typeof b !== 'object' || b === null || b.protocol !== MEDIA_ALPN) return undefined;
  const { mpUri, callId, credential } = b;
  if (typeof mpUri !== 'string' || typeof callId !== 'string' || typeof credential !== 'string') {
    throw new Error('cr-media/1 blob needs mpUri, callId and credential strings');
  }
  parseMpUri(mpUri);
  return { protocol: MEDIA_ALPN, mpUri, callId, credential };
}

/** A TLS 1.3 socket to the target, ALPN cr-media/1, verified against the default trust. */
export function tlsConnect(target: MediaTarget): TLSSocket {
  return connect({
    host: target.host,
    port: target.port,
    // SNI must not be an IP address (RFC 6066); the identity check still uses `host`.
    ...(isIP(target.host) === 0 && { servername: target.host }),
    ALPNProtocols: [MEDIA_ALPN],
    minVersion: 'TLSv1.3',
  });
}

export type Handshake =
  | {
      ok: true;
      socket: TLSSocket;
      decoder: FrameDecoder;
      welcome: SimMediaWelcome;
      /** Frames that arrived with the WELCOME. */
      rest: Frame[];
    }
  | { ok: false; refused?: string; error: string };

/**
 * Connect, send `hello`, and wait for WELCOME or REFUSE, within `timeoutMs` overall. On success
 * the socket is paused with an 'error' listener that ignores errors: the caller attaches its
 * own listeners, then resumes it.
 */
export function handshake(
  target: MediaTarget,
  hello: Extract<Frame, { type: 'hello' }>,
  timeoutMs: number,
  clock: Clock,
): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = tlsConnect(target);
    const decoder = new FrameDecoder();
    let settled = false;
    const settle = (result: Handshake) => {
      if (settled) return;
      settled = true;
      clock.clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (!result.ok) socket.destroy();
      else socket.pause();
      resolve(result);
    };
    const timer = clock.setTimeout(
      () => settle({ ok: false, error: `no WELCOME within ${timeoutMs} ms` }),
      timeoutMs,
    );
    timer.unref();
    const onData = (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (error) {
        return settle({ ok: false, error: `bad reply: ${(error as Error).message}` });
      }
      const [first, ...rest] = frames;
      if (!first) return;
      if (first.type === 'welcome') {
        const { type: _type, ...welcome } = first;
        return settle({ ok: true, socket, decoder, welcome, rest });
      }
      if (first.type === 'refuse') {
        return settle({ ok: false, refused: first.reason, error: `refused: ${first.reason}` });
      }
      settle({ ok: false, error: `expected WELCOME, got ${first.type}` });
    };
    const onClose = () => settle({ ok: false, error: 'closed before WELCOME' });
    socket.on('error', (err: Error) => settle({ ok: false, error: err.message }));
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.once('secureConnect', () => {
      if (socket.alpnProtocol !== MEDIA_ALPN) {
        return settle({ ok: false, error: `server did not select ALPN ${MEDIA_ALPN}` });
      }
      socket.write(encodeFrame(hello));
    });
  });
}
