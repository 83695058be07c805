/**
 * A tiny cr-media/1 endpoint for the media peer's tests, built on the codec alone: TLS 1.3 with
 * ALPN cr-media/1 and the test certificate, HELLO within `helloTimeoutMs`, single-use
 * credentials it mints, resume tokens valid on every server sharing its `Sessions`, heartbeats,
 * END on garbage. It records every connection and every frame it got, for byte comparison.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { FrameDecoder, MEDIA_ALPN, encodeFrame, type Frame } from '@cr-orchestrator/media-protocol';
import { testTls } from './setup.js';

type Hello = Extract<Frame, { type: 'hello' }>;

/** Credentials and sessions, shared by servers that play several media processes. */
export class Sessions {
  /** credential → callId, while unused */
  readonly credentials = new Map<string, string>();
  readonly used = new Set<string>();
  /** resume token → { callId, sessionId } */
  readonly resumes = new Map<string, { callId: string; sessionId: string }>();

  mint(callId: string): string {
    const credential = `cred-${randomUUID()}`;
    this.credentials.set(credential, callId);
    return credential;
  }
}

export interface Conn {
  socket: TLSSocket;
  hello?: Hello;
  sessionId?: string;
  refused?: string;
  /** Every frame after the HELLO, in order. */
  frames: Frame[];
  /** The END reason the peer sent. */
  end?: string;
  closed: boolean;
  /** The server ended it for garbage. */
  protocolError?: string;
}

export interface MediaServerOptions {
  sessions?: Sessions;
  heartbeatMs?: number;
  reconnectWindowMs?: number;
  helloTimeoutMs?: number;
}

export interface TestMediaServer {
  readonly uri: string;
  readonly port: number;
  readonly sessions: Sessions;
  readonly conns: Conn[];
  /** Connections that got a WELCOME. */
  welcomed(): Conn[];
  /** Stop listening and destroy every connection. */
  close(): Promise<void>;
}

export async function startMediaServer(o: MediaServerOptions = {}): Promise<TestMediaServer> {
  const sessions = o.sessions ?? new Sessions();
  const heartbeatMs = o.heartbeatMs ?? 500;
  const reconnectWindowMs = o.reconnectWindowMs ?? 3000;
  const conns: Conn[] = [];
  const server: Server = createServer({
    ...(await testTls()),
    minVersion: 'TLSv1.3',
    ALPNProtocols: [MEDIA_ALPN],
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    const conn: Conn = { socket, frames: [], closed: false };
    conns.push(conn);
    const decoder = new FrameDecoder();
    const send = (f: Frame) => void (socket.writable && socket.write(encodeFrame(f)));
    let beat: NodeJS.Timeout | undefined;
    const helloTimer = setTimeout(() => refuse('handshake-timeout'), o.helloTimeoutMs ?? 2000);
    const refuse = (reason: string) => {
      conn.refused = reason;
      send({ type: 'refuse', reason });
      socket.end();
    };
    const welcome = (hello: Hello): string | undefined => {
      if (hello.credential !== undefined) {
        if (sessions.used.has(hello.credential)) return 'reused';
        const callId = sessions.credentials.get(hello.credential);
        if (callId === undefined) return 'bad-signature';
        if (callId !== hello.callId) return 'wrong-call';
        sessions.used.add(hello.credential);
        conn.sessionId = randomUUID();
      } else {
        const session = sessions.resumes.get(hello.resume ?? '');
        if (!session) return 'unknown-session';
        if (session.callId !== hello.callId) return 'wrong-call';
        conn.sessionId = session.sessionId;
      }
      const resume = `resume-${randomUUID()}`;
      sessions.resumes.set(resume, { callId: hello.callId, sessionId: conn.sessionId });
      send({ type: 'welcome', sessionId: conn.sessionId, resume, heartbeatMs, reconnectWindowMs });
      beat = setInterval(() => send({ type: 'heartbeat', timestamp: Date.now() }), heartbeatMs);
      return undefined;
    };
    socket.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (error) {
        conn.protocolError = (error as Error).message;
        if (conn.hello) send({ type: 'end', reason: 'protocol-error' });
        else send({ type: 'refuse', reason: 'protocol-error' });
        // end(), not destroy(): destroy would drop the END still in the write buffer.
        socket.end();
        setTimeout(() => socket.destroy(), 200).unref();
        return;
      }
      for (const f of frames) {
        if (!conn.hello) {
          if (f.type !== 'hello') return refuse('protocol-error');
          clearTimeout(helloTimer);
          conn.hello = f;
          const refusal = welcome(f);
          if (refusal) return refuse(refusal);
        } else {
          conn.frames.push(f);
          if (f.type === 'end') {
            conn.end = f.reason;
            socket.end();
          }
        }
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      conn.closed = true;
      clearTimeout(helloTimer);
      clearInterval(beat);
    });
  });
  server.on('tlsClientError', () => undefined);
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    uri: `tls://localhost:${port}`,
    port,
    sessions,
    conns,
    welcomed: () => conns.filter((c) => c.sessionId !== undefined),
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of conns) c.socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Audio frames a connection received, by the peer's track key. */
export function audioByTrack(
  frames: Frame[],
): Map<string, { timestamp: number; pcm: Buffer | null }[]> {
  const out = new Map<string, { timestamp: number; pcm: Buffer | null }[]>();
  for (const f of frames) {
    if (f.type !== 'audio') continue;
    const key = f.kind === 'mixed' ? 'mixed' : `src-${f.sourceId}`;
    const list = out.get(key) ?? [];
    list.push({ timestamp: f.timestamp, pcm: f.silence ? null : f.pcm! });
    out.set(key, list);
  }
  return out;
}

type Logged =
  | { timestamp: number; pcm: Buffer | null }
  | { timestamp: number; data: Buffer; keyframe: boolean };

/** Frames as comparable strings (deep equality on Buffers is slow): `ts:hex`, 'silence', K/P. */
export const wire = (list: Logged[]): string[] =>
  list.map((e) =>
    'pcm' in e
      ? `${e.timestamp}:${e.pcm?.toString('hex') ?? 'silence'}`
      : `${e.timestamp}:${e.keyframe ? 'K' : 'P'}:${e.data.toString('hex')}`,
  );

/** A track map as comparable strings, tracks sorted. */
export const wireMap = (map: Map<string, Logged[]>): Record<string, string[]> =>
  Object.fromEntries([...map].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, wire(v)]));
