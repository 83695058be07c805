/**
 * The media endpoint's TLS: 1.3 only, and the certificate is reloaded without a restart when
 * its files are replaced (docs/media-protocol.md, "Transport").
 */
import { X509Certificate } from 'node:crypto';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevCerts } from '../../src/dev/certs.js';
import { MediaCredentials } from '../../src/media/credentials.js';
import { MEDIA_ALPN } from '@cr-orchestrator/media-protocol';
import { openRecording } from '../../src/media/recording/index.js';
import { startMediaServer, type MediaServer } from '../../src/media/server.js';
import type { MediaSessionStore } from '../../src/media/session-store.js';
import { TEST_SESSION_SETTINGS } from '../helpers/hostile-media.js';
import { eventually } from '../helpers/system.js';

let dir: string;
let server: MediaServer;
const certFile = () => join(dir, 'cert.pem');
const keyFile = () => join(dir, 'key.pem');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cr-media-tls-'));
  await copyFile(process.env.TEST_MEDIA_CERT_FILE!, certFile());
  await copyFile(process.env.TEST_MEDIA_KEY_FILE!, keyFile());
  const unused = () => Promise.reject(new Error('no session expected'));
  server = await startMediaServer({
    host: '127.0.0.1',
    port: 0,
    certFile: certFile(),
    keyFile: keyFile(),
    logger: pino({ level: 'silent' }),
    connections: { maxConnections: 100, tlsTimeoutMs: 1000 },
    session: {
      owner: 'test',
      settings: TEST_SESSION_SETTINGS,
      store: {} as MediaSessionStore,
      credentials: new MediaCredentials('x'.repeat(32)),
      openRecording: (callId) => openRecording({ rootDir: dir, callId }),
      hasRecording: () => Promise.resolve(false),
      report: unused,
      logger: pino({ level: 'silent' }),
    },
  });
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

function handshake(options: { maxVersion?: 'TLSv1.2' | 'TLSv1.3'; ca?: string } = {}) {
  return new Promise<{ fingerprint: string; protocol: string | null } | { error: string }>(
    (resolve) => {
      const socket = connect({
        host: '127.0.0.1',
        port: server.port,
        servername: 'localhost',
        ALPNProtocols: [MEDIA_ALPN],
        rejectUnauthorized: false,
        ...options,
      });
      socket.once('secureConnect', () => {
        resolve({
          fingerprint: socket.getPeerCertificate().fingerprint256,
          protocol: socket.getProtocol(),
        });
        socket.destroy();
      });
      socket.once('error', (err: Error) => resolve({ error: err.message }));
    },
  );
}

describe('media TLS', () => {
  it('speaks TLS 1.3 only', async () => {
    expect(await handshake()).toMatchObject({ protocol: 'TLSv1.3' });
    expect(await handshake({ maxVersion: 'TLSv1.2' })).toHaveProperty('error');
  });

  it('picks up a replaced certificate without a restart', async () => {
    const before = await handshake();
    const fresh = await ensureDevCerts(join(dir, 'fresh'), 'rotated', 'ec');
    await copyFile(fresh.keyFile, keyFile());
    await copyFile(fresh.certFile, certFile());
    const expected = new X509Certificate(fresh.cert).fingerprint256;
    const after = await eventually(
      async () => {
        const h = await handshake();
        return 'fingerprint' in h && h.fingerprint === expected ? h : undefined;
      },
      5000,
      'the new certificate',
    );
    expect(after).not.toEqual(before);
  });
});
