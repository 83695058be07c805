/**
 * Bounds on the media endpoint's connections before a session exists (docs/media-protocol.md,
 * "Limits and hostile peers"):
 *
 * - at most `maxConnections` sockets per process, handshaking ones included; Node closes the
 *   ones beyond at once (`server.maxConnections`, its 'drop' event);
 * - the ClientHello deadline: from TCP accept, TLS must be done within `tlsTimeoutMs`, or the
 *   socket is destroyed. Node's own `handshakeTimeout` is an idle timer (a ClientHello sent a
 *   byte at a time never trips it), and with a 'tlsClientError' listener it destroys nothing;
 *   so the deadline is ours, absolute, on the raw socket.
 */
import type { Socket } from 'node:net';
import type { Server, TLSSocket } from 'node:tls';

export interface ConnectionLimits {
  maxConnections: number;
  tlsTimeoutMs: number;
}

export type ConnectionCloseReason = 'connection-limit' | 'tls-timeout' | 'tls-error' | 'no-alpn';

export interface ConnectionGuard {
  /** The TLS handshake of `socket` is done: its deadline is off. */
  secured(socket: TLSSocket): void;
}

/** One TCP connection: the raw socket and its TLS socket name the same four-tuple. */
const keyOf = (s: Socket): string =>
  `${s.remoteAddress}|${s.remotePort}|${s.localAddress}|${s.localPort}`;

export function guardConnections(
  server: Server,
  limits: ConnectionLimits,
  closed: (reason: ConnectionCloseReason) => void,
): ConnectionGuard {
  server.maxConnections = limits.maxConnections;
  server.on('drop', () => closed('connection-limit'));
  const deadlines = new Map<string, NodeJS.Timeout>();
  server.on('connection', (raw: Socket) => {
    const key = keyOf(raw);
    const timer = setTimeout(() => {
      deadlines.delete(key);
      if (raw.destroyed) return;
      closed('tls-timeout');
      raw.destroy();
    }, limits.tlsTimeoutMs);
    timer.unref();
    deadlines.set(key, timer);
    raw.once('close', () => {
      if (deadlines.get(key) !== timer) return;
      clearTimeout(timer);
      deadlines.delete(key);
    });
  });
  return {
    secured(socket) {
      const key = keyOf(socket);
      clearTimeout(deadlines.get(key));
      deadlines.delete(key);
    },
  };
}
