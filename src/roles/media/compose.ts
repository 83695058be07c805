/**
 * The media role, composed: the TLS endpoint, the session registry, the orphan sweeper (which
 * ends the sessions of dead media processes), the recording store under RECORDINGS_DIR, and the
 * wiring of media events into the calls' `applyEvent` (only a composition root does that, so
 * the ingress and the media process never import each other; CONTRIBUTING.md#import-directions).
 */
import { randomBytes } from 'node:crypto';
import { access } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { MeterProvider } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { CallEvent } from '../../../machines/call.js';
import type { Config } from '../../config.js';
import type { Core } from '../core.js';
import { MediaCredentials } from '../../media/credentials.js';
import { startOrphanSweeper, type OrphanSweeper } from '../../media/orphan-sweeper.js';
import { checkMediaTls, checkRecordingsDir } from '../../media/preflight.js';
import { openRecording } from '../../media/recording/index.js';
import { startMediaServer, type MediaServer } from '../../media/server.js';
import { createMediaSessionStore } from '../../media/session-store.js';
import { MediaTelemetry } from '../../media/telemetry.js';

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
  | 'mediaOrphanSweepMs'
  | 'mediaHandshakeTimeoutMs'
  | 'mediaTlsTimeoutMs'
  | 'mediaMaxConnections'
  | 'mediaMaxTimestampJumpMs'
  | 'mediaMaxUnmixedSources'
  | 'recordingsDir'
>;

export interface MediaRole {
  server: MediaServer;
  /** This process's id in the media hashes and its liveness key. */
  owner: string;
  orphans: OrphanSweeper;
  close(): Promise<void>;
}

export async function startMediaRole(
  config: MediaConfig,
  core: Core,
  logger: Logger,
  /** Where the media instruments record (a test's reader). @default the global meter */
  meterProvider?: MeterProvider,
): Promise<MediaRole> {
  if (!config.mediaTlsCertFile || !config.mediaTlsKeyFile) {
    throw new Error('the media role needs MEDIA_TLS_CERT_FILE and MEDIA_TLS_KEY_FILE');
  }
  checkMediaTls(config.mediaTlsCertFile, config.mediaTlsKeyFile);
  await checkRecordingsDir(config.recordingsDir);
  // after the SDK started (src/process/run-role.ts starts it first), so the instruments bind
  // to its meter
  const telemetry = new MediaTelemetry({
    meterProvider,
    firstTrace: async (callId) => (await core.store.load(callId)).trace,
  });
  // unique per start: a restarted container often has the same hostname and pid (1), and a
  // live key of the new process must not vouch for the sessions the old one left behind
  const owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const store = createMediaSessionStore(core.redis, config.redisKeyPrefix);
  const open = (callId: string) =>
    openRecording({ rootDir: config.recordingsDir, callId, onGap: (g) => telemetry.gap(g) });
  const hasRecording = (callId: string) =>
    access(join(config.recordingsDir, callId, 'manifest.jsonl')).then(
      () => true,
      () => false,
    );
  const report = async (callId: string, event: CallEvent) => {
    try {
      await core.runtime.applyEvent(callId, event);
    } catch (err) {
      logger.warn({ err, callId, event: event.type }, 'media event not applied');
    }
  };
  // before the endpoint accepts a session: its liveness key must exist first
  const orphans = await startOrphanSweeper({
    owner,
    store,
    reconnectWindowMs: config.mediaReconnectWindowMs,
    intervalMs: config.mediaOrphanSweepMs,
    existingRecording: async (callId) => ((await hasRecording(callId)) ? open(callId) : undefined),
    report,
    logger,
  });
  const server = await startMediaServer({
    host: config.mediaHost,
    port: config.mediaPort,
    certFile: config.mediaTlsCertFile,
    keyFile: config.mediaTlsKeyFile,
    logger,
    connections: {
      maxConnections: config.mediaMaxConnections,
      tlsTimeoutMs: config.mediaTlsTimeoutMs,
    },
    session: {
      owner,
      settings: {
        heartbeatMs: config.mediaHeartbeatMs,
        reconnectWindowMs: config.mediaReconnectWindowMs,
        handshakeTimeoutMs: config.mediaHandshakeTimeoutMs,
        maxTimestampJumpMs: config.mediaMaxTimestampJumpMs,
        maxUnmixedSources: config.mediaMaxUnmixedSources,
      },
      store,
      credentials: new MediaCredentials(config.mediaCredentialSecret),
      openRecording: open,
      hasRecording,
      report,
      telemetry,
      logger,
    },
  });
  logger.info({ port: server.port }, 'media endpoint listening (TLS 1.3, cr-media/1)');
  let closed: Promise<void> | undefined;
  return {
    server,
    owner,
    orphans,
    // drain first (sessions become resumable `lost`), then drop the liveness key: from then on
    // any other media process ends what no peer resumes
    close: () =>
      (closed ??= (async () => {
        await server.close();
        await orphans.close();
      })()),
  };
}
