/**
 * The media role, composed: the TLS endpoint, the session registry, the recording store under
 * RECORDINGS_DIR, and the wiring of media events into the calls' `applyEvent` (only a
 * composition root does that; HOUSE-STYLE "Import directions").
 */
import { access } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Core } from '../core.js';
import { MediaCredentials } from './credentials.js';
import { newMediaMetrics, type MediaMetrics } from './metrics.js';
import { openRecording } from './recording/index.js';
import { startMediaServer, type MediaServer } from './server.js';
import { createMediaSessionStore } from './session-store.js';
import { MediaTelemetry } from './telemetry.js';

export type MediaConfig = Pick<
  Config,
  | 'redisKeyPrefix'
  | 'mediaHost'
  | 'mediaPort'
  | 'mediaTlsCertFile'
  | 'mediaTlsKeyFile'
  | 'mediaCredentialSecret'
  | 'mediaHeartbeatMs'
  | 'mediaReconnectWindowMs'
  | 'mediaHandshakeTimeoutMs'
  | 'recordingsDir'
>;

export interface MediaRole {
  server: MediaServer;
  metrics: MediaMetrics;
  close(): Promise<void>;
}

export async function startMediaRole(
  config: MediaConfig,
  core: Core,
  logger: Logger,
): Promise<MediaRole> {
  if (!config.mediaTlsCertFile || !config.mediaTlsKeyFile) {
    throw new Error('the media role needs MEDIA_TLS_CERT_FILE and MEDIA_TLS_KEY_FILE');
  }
  const metrics = newMediaMetrics();
  // after the SDK started (src/media/main.ts), so the instruments bind to its meter
  const telemetry = new MediaTelemetry({
    metrics,
    firstTrace: async (callId) => (await core.store.load(callId)).trace,
  });
  const server = await startMediaServer({
    host: config.mediaHost,
    port: config.mediaPort,
    certFile: config.mediaTlsCertFile,
    keyFile: config.mediaTlsKeyFile,
    logger,
    session: {
      owner: `${hostname()}:${process.pid}`,
      settings: {
        heartbeatMs: config.mediaHeartbeatMs,
        reconnectWindowMs: config.mediaReconnectWindowMs,
        handshakeTimeoutMs: config.mediaHandshakeTimeoutMs,
      },
      store: createMediaSessionStore(core.redis, config.redisKeyPrefix),
      credentials: new MediaCredentials(config.mediaCredentialSecret),
      openRecording: (callId) =>
        openRecording({ rootDir: config.recordingsDir, callId, onGap: (g) => telemetry.gap(g) }),
      hasRecording: (callId) =>
        access(join(config.recordingsDir, callId, 'manifest.jsonl')).then(
          () => true,
          () => false,
        ),
      report: async (callId, event) => {
        try {
          await core.runtime.applyEvent(callId, event);
        } catch (err) {
          logger.warn({ err, callId, event: event.type }, 'media event not applied');
        }
      },
      metrics,
      telemetry,
      logger,
    },
  });
  logger.info({ port: server.port }, 'media endpoint listening (TLS 1.3, cr-media/1)');
  return { server, metrics, close: () => server.close() };
}
