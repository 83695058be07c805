/**
 * B6's floor, a process of its own: a raw TLS 1.3 server with the media endpoint's certificate
 * and ALPN that answers each HELLO with a WELCOME (so the same peers stream to it) and then
 * reads and discards every byte. No decoding, no session, no Redis, no disk: what receiving the
 * streams costs at least. Env: BENCH_PORT, MEDIA_TLS_CERT_FILE, MEDIA_TLS_KEY_FILE.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:tls';
import { encodeFrame, MEDIA_ALPN } from '@cr-orchestrator/media-protocol';

const welcome = encodeFrame({
  type: 'welcome',
  sessionId: 'floor',
  resume: 'floor',
  heartbeatMs: 60_000,
  reconnectWindowMs: 1000,
});
const server = createServer(
  {
    cert: readFileSync(process.env.MEDIA_TLS_CERT_FILE ?? ''),
    key: readFileSync(process.env.MEDIA_TLS_KEY_FILE ?? ''),
    minVersion: 'TLSv1.3',
    ALPNProtocols: [MEDIA_ALPN],
  },
  (socket) => {
    socket.on('error', () => undefined);
    let greeted = false;
    socket.on('data', () => {
      if (!greeted) socket.write(welcome);
      greeted = true;
    });
  },
);
server.maxConnections = 100_000;
server.listen(Number(process.env.BENCH_PORT), '127.0.0.1');
process.once('SIGTERM', () => {
  server.close();
  process.exit(0);
});
