/**
 * The media endpoint: TLS 1.3 only (ALPN cr-media/1, a client offering anything else or nothing
 * is refused), one `MediaSession` per connection, bounded connections and TLS time
 * (./connection-guard.ts), the certificate reloaded without restart when its files change, and
 * a drain that keeps sessions resumable elsewhere (docs/media-protocol.md).
 */
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import {
  guardConnections,
  type ConnectionCloseReason,
  type ConnectionLimits,
} from './connection-guard.js';
import { checkMediaTls } from './preflight.js';
import { MEDIA_ALPN } from '@cr-orchestrator/media-protocol';
import { MediaSession, PERSIST_POLL_MS, type SessionDeps } from './session.js';
import { MediaTelemetry } from './telemetry.js';

export interface MediaServerOptions {
  host: string;
  port: number;
  certFile: string;
  keyFile: string;
  session: SessionDeps;
  connections: ConnectionLimits;
  logger: Logger;
}

export interface MediaServer {
  readonly port: number;
  readonly sessions: ReadonlySet<MediaSession>;
  /** Stop accepting, flush and close every session's recording (peers may resume elsewhere). */
  close(): Promise<void>;
}

export async function startMediaServer(o: MediaServerOptions): Promise<MediaServer> {
  const sessions = new Set<MediaSession>();
  const telemetry = o.session.telemetry ?? new MediaTelemetry();
  const deps = { ...o.session, telemetry };
  const credentials = () => ({ cert: readFileSync(o.certFile), key: readFileSync(o.keyFile) });
  const server: Server = createServer({
    ...credentials(),
    minVersion: 'TLSv1.3',
    // only cr-media/1: a client offering other protocols fails the handshake (no_application_protocol)
    ALPNCallback: ({ protocols }) => (protocols.includes(MEDIA_ALPN) ? MEDIA_ALPN : undefined),
    handshakeTimeout: o.connections.tlsTimeoutMs,
  });
  const countClosed = (reason: ConnectionCloseReason) => telemetry.connectionClosed(reason);
  const guard = guardConnections(server, o.connections, countClosed);
  server.on('secureConnection', (socket: TLSSocket) => {
    guard.secured(socket);
    // a client that offered no ALPN at all is not a cr-media/1 peer either
    if (socket.alpnProtocol !== MEDIA_ALPN) {
      countClosed('no-alpn');
      return void socket.destroy();
    }
    const session = new MediaSession(socket, deps);
    sessions.add(session);
    // kept until its loss is recorded, so that close() waits for those writes too
    socket.once('close', () => void session.settled().then(() => sessions.delete(session)));
  });
  server.on('tlsClientError', (err, socket) => {
    countClosed('tls-error'); // plaintext clients, slow or broken TLS handshakes
    o.logger.debug({ err: err.message }, 'media TLS client error');
    socket.destroy(); // Node leaves that to a 'tlsClientError' listener: without it, nothing closes
  });
  server.on('error', (err) => o.logger.error({ err }, 'media server error'));

  // Every streaming session's call, read in one round trip per tick rather than one per
  // session: a thousand streams would otherwise poll Redis 5,000 times a second.
  let polling = false;
  const pollSessions = async () => {
    if (polling) return; // a slow Redis: the next tick tries again
    polling = true;
    try {
      const due = [...sessions].flatMap((session) => {
        const poll = session.pollDue();
        return poll ? [{ session, poll }] : [];
      });
      const reads = await deps.store.callStates(due.map((d) => d.poll));
      for (const [i, { session, poll }] of due.entries()) void session.polled(poll, reads[i]);
    } catch (err) {
      o.logger.warn({ err }, 'media sessions poll failed');
    } finally {
      polling = false;
    }
  };
  const poller = setInterval(() => void pollSessions(), PERSIST_POLL_MS);
  poller.unref();

  // Certificates are rotated by replacing the files; poll them so a rename is seen too.
  const reload = () => {
    try {
      checkMediaTls(o.certFile, o.keyFile); // a half-replaced pair would fail every handshake
      server.setSecureContext({ ...credentials(), minVersion: 'TLSv1.3' });
      o.logger.info({ certFile: o.certFile }, 'media TLS certificate reloaded');
    } catch (err) {
      o.logger.error({ err }, 'media TLS certificate reload failed; keeping the old one');
    }
  };
  for (const file of [o.certFile, o.keyFile]) watchFile(file, { interval: 500 }, reload);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let closed: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    sessions,
    close: () =>
      (closed ??= (async () => {
        for (const file of [o.certFile, o.keyFile]) unwatchFile(file, reload);
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.all([...sessions].map((s) => s.drain()));
        clearInterval(poller);
        await stopped;
      })()),
  };
}
