/**
 * Slow, half-open and ALPN-less clients of the media endpoint (docs/media-protocol.md, "Limits
 * and hostile peers"): the ClientHello deadline destroys what does not finish TLS in time, the
 * connection limit closes what is beyond it at once, and a legitimate peer still gets through.
 * HOSTILE_SOAK=1 adds a 30 s run with 400 half-open sockets kept open under the default limit
 * (not run by default).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTR, METRIC } from '../../src/telemetry/index.js';
import {
  credentialFor,
  Peer,
  startHostileMedia,
  type HostileMedia,
} from '../helpers/hostile-media.js';
import { eventually } from '../helpers/system.js';

const TLS_TIMEOUT_MS = 800;
const MAX_CONNECTIONS = 40;
let media: HostileMedia;

beforeAll(async () => {
  media = await startHostileMedia('hostile-conn', {
    connections: { maxConnections: MAX_CONNECTIONS, tlsTimeoutMs: TLS_TIMEOUT_MS },
    settings: { handshakeTimeoutMs: 400 },
  });
});
afterAll(async () => {
  await media?.close();
});

/** A TCP connection that never starts TLS; resolves when the server closed it, with when. */
function halfOpen(
  port = media.port,
  write?: (s: Socket) => void,
): { socket: Socket; closedAt: Promise<number> } {
  const socket = netConnect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  if (write) socket.once('connect', () => write(socket));
  const closedAt = new Promise<number>((resolve) =>
    socket.once('close', () => resolve(Date.now())),
  );
  return { socket, closedAt };
}

/** Connections `server` closed before a session existed, for `reason`. */
const closedFor = (server: HostileMedia, reason: string) =>
  server.metrics.value(METRIC.mediaConnectionsClosed, { [ATTR.closeReason]: reason });

let calls = 0;
async function legitimatePeer(server = media): Promise<string> {
  const callId = `conn-${Date.now()}-${(calls += 1)}`;
  await server.persist(callId);
  const { peer, answer } = await Peer.hello(server.port, {
    callId,
    credential: credentialFor(server, callId),
  });
  peer.destroy();
  return answer.type;
}

describe('the ClientHello deadline', () => {
  it('destroys a TCP connection that never starts TLS', async () => {
    const opened = Date.now();
    const { closedAt } = halfOpen();
    const took = (await closedAt) - opened;
    expect(took).toBeGreaterThanOrEqual(TLS_TIMEOUT_MS - 50);
    expect(took).toBeLessThan(TLS_TIMEOUT_MS + 1500);
  });

  it('destroys a ClientHello sent a byte at a time (an idle timer never fires for it)', async () => {
    const opened = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const hello = Buffer.from('16030100c8010000c40303', 'hex'); // the start of a ClientHello
    const { closedAt } = halfOpen(media.port, (s) => {
      let i = 0;
      timer = setInterval(
        () => s.writable && i < hello.length && s.write(hello.subarray(i, (i += 1))),
        50,
      );
    });
    const took = (await closedAt) - opened;
    clearInterval(timer);
    expect(took).toBeLessThan(TLS_TIMEOUT_MS + 1500);
  });

  it('refuses with REFUSE and closes a peer that finished TLS but never says HELLO', async () => {
    const peer = await Peer.connect(media.port);
    await peer.closed;
    expect(peer.received).toEqual([{ type: 'refuse', reason: 'handshake-timeout' }]);
  });
});

describe('the connection limit', () => {
  it('closes what is beyond it at once, and a legitimate peer gets through once the deadline reaped the rest', async () => {
    const closedBefore = await closedFor(media, 'connection-limit');
    const sockets = Array.from({ length: MAX_CONNECTIONS + 20 }, () => halfOpen());
    await eventually(async () =>
      (await closedFor(media, 'connection-limit')) - closedBefore >= 20 ? true : undefined,
    );
    // while they are held, a legitimate peer is closed at once too: the limit is per process
    await expect(legitimatePeer()).rejects.toThrow();
    // every half-open one is gone within the deadline (plus the test's own slack)
    const closed = await Promise.all(sockets.map((s) => s.closedAt));
    expect(closed.length).toBe(MAX_CONNECTIONS + 20);
    expect(await legitimatePeer()).toBe('welcome');
  });
});

describe('ALPN', () => {
  it('refuses a client that offers no ALPN, or one that offers only another protocol', async () => {
    const noAlpn = await Peer.connect(media.port, null);
    await noAlpn.closed;
    expect(noAlpn.received).toEqual([]);
    expect(await closedFor(media, 'no-alpn')).toBeGreaterThanOrEqual(1);
    await expect(Peer.connect(media.port, ['h2'])).rejects.toThrow(/no.application.protocol/i);
    expect(await legitimatePeer()).toBe('welcome');
  });
});

// opt-in: registered only with HOSTILE_SOAK=1, so the default run neither runs nor skips it
if (process.env.HOSTILE_SOAK === '1')
  describe('soak (HOSTILE_SOAK=1)', () => {
    it('400 half-open sockets, renewed for 30 s under the default limit, never starve legitimate peers', async () => {
      const soak = await startHostileMedia('hostile-soak', {
        connections: { maxConnections: 500, tlsTimeoutMs: 1000 },
      });
      const until = Date.now() + 30_000;
      const open = new Set<Socket>();
      const flood = setInterval(() => {
        while (open.size < 400) {
          const { socket, closedAt } = halfOpen(soak.port);
          open.add(socket);
          void closedAt.then(() => open.delete(socket));
        }
      }, 50);
      let welcomed = 0;
      try {
        while (Date.now() < until) {
          expect(await legitimatePeer(soak)).toBe('welcome');
          welcomed += 1;
        }
        // reaped by the deadline (a drip) or Node's idle handshake timer (silence), both destroying
        const reaped =
          (await closedFor(soak, 'tls-timeout')) + (await closedFor(soak, 'tls-error'));
        expect(reaped).toBeGreaterThan(400);
      } finally {
        clearInterval(flood);
        for (const s of open) s.destroy();
        await soak.close();
      }
      expect(welcomed).toBeGreaterThan(10);
    }, 60_000);
  });
