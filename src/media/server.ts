/**
 * The media endpoint: TLS 1.3 only (ALPN cr-media/1), one `MediaSession` per connection, the
 * certificate reloaded without restart when its files change, and a drain that keeps sessions
 * resumable elsewhere (docs/media-protocol.md).
 */
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { MEDIA_ALPN } from './protocol/index.js';
import { MediaSession, type SessionDeps } from './session.js';

export interface MediaServerOptions {
  host: string;
  port: number;
  certFile: string;
  keyFile: string;
  session: SessionDeps;
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
  const credentials = () => ({ cert: readFileSync(o.certFile), key: readFileSync(o.keyFile) });
  const server: Server = createServer({
    ...credentials(),
    minVersion: 'TLSv1.3',
    ALPNProtocols: [MEDIA_ALPN],
    handshakeTimeout: o.session.settings.handshakeTimeoutMs,
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    const session = new MediaSession(socket, o.session);
    sessions.add(session);
    socket.once('close', () => sessions.delete(session));
  });
  server.on('tlsClientError', (err) => {
    o.session.metrics.tlsErrors += 1;
    o.logger.debug({ err: err.message }, 'media TLS client error');
  });
  server.on('error', (err) => o.logger.error({ err }, 'media server error'));

  // Certificates are rotated by replacing the files; poll them so a rename is seen too.
  const reload = () => {
    try {
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
        await stopped;
      })()),
  };
}
