/**
 * The only reader of `process.env`. Turns the variables of the README's configuration table
 * (README.md#configuration) into one typed, defaulted, frozen object; durations become `…Ms`
 * numbers here. A bad value fails start-up with a message that names the variable.
 */
import { hkdfSync } from 'node:crypto';
import { accessSync, constants, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';

/** Variables whose values are never printed, not even in a configuration error. */
const SECRET_VARIABLES = new Set(['BOT_APP_SECRET', 'MEDIA_CREDENTIAL_SECRET', 'ADMIN_TOKEN']);
/** Variables that are URLs and may carry a password (`redis://:pw@host`). */
const URL_VARIABLES = new Set(['REDIS_URL', 'JAEGER_UI_URL']);

/** A URL (or comma-separated URLs) with any password replaced, for messages and logs. */
export function redactUrl(value: string): string {
  return value.replace(/(\w+:\/\/)([^@/\s,]*)@/g, (_, scheme: string, auth: string) => {
    const user = auth.includes(':') ? auth.slice(0, auth.indexOf(':')) : '';
    return `${scheme}${user ? `${user}:` : ':'}***@`;
  });
}

/** A bind address: an IP address or a DNS name (and not a dotted quad that is no IPv4). */
const bindAddress = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .refine(
    (v) =>
      isIP(v) !== 0 ||
      (!/^[\d.]+$/.test(v) &&
        /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(
          v,
        )),
    'must be an IP address or a host name',
  );

/** RFC 6750 §2.1 b64token: what a client can send after `Bearer ` unchanged. */
const bearerToken = z
  .string()
  .min(16, 'must be at least 16 characters')
  .max(512, 'must be at most 512 characters')
  .regex(/^[A-Za-z0-9\-._~+/]+=*$/, 'must use only A-Z a-z 0-9 - . _ ~ + / (then =)');

const url = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    `must be a URL (${protocols.join(' or ')})`,
  );

/** One URL, or several separated by commas (the seed nodes of a Redis Cluster). */
const urls = (protocols: string[]) =>
  z
    .string()
    .refine(
      (v) => v.split(',').every((part) => url(protocols).safeParse(part.trim()).success),
      `must be one or more comma-separated URLs (${protocols.join(' or ')})`,
    );

const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const nonEmpty = z.string().trim().min(1, 'must not be empty');

const EnvSchema = z.object({
  REDIS_URL: urls(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  REDIS_CLUSTER: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,32}$/, 'letters, digits, _ . - (at most 32)')
    .default('cr'),
  HOST: bindAddress.default('0.0.0.0'),
  PORT: int(0, 65535).default(3978),
  PUBLIC_BASE_URL: url(['http:', 'https:']).default('http://localhost:3978'),
  BOT_APP_ID: nonEmpty,
  BOT_APP_SECRET: nonEmpty,
  TEAMS_OPENID_CONFIG_URL: url(['https:', 'http:']).default(
    'https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration',
  ),
  TEAMS_TOKEN_ISSUERS: z
    .string()
    .default('https://api.botframework.com,https://graph.microsoft.com')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string()).min(1, 'needs at least one issuer')),
  GRAPH_BASE_URL: url(['https:']).default('https://graph.microsoft.com/v1.0'),
  ENTRA_AUTHORITY_HOST: url(['https:']).default('https://login.microsoftonline.com'),
  MEDIA_PUBLIC_HOST: nonEmpty.default('localhost'),
  MEDIA_PORT: int(1, 65535).default(8445),
  MEDIA_TLS_CERT_FILE: z.string().optional(),
  MEDIA_TLS_KEY_FILE: z.string().optional(),
  MEDIA_HOST: bindAddress.default('0.0.0.0'),
  MEDIA_CREDENTIAL_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  MEDIA_HEARTBEAT_MS: int(50, 60_000).default(1000),
  MEDIA_RECONNECT_WINDOW_MS: int(100, 10 * 60_000).default(10_000),
  MEDIA_ORPHAN_SWEEP_MS: int(50, 60_000).optional(),
  MEDIA_HANDSHAKE_TIMEOUT_MS: int(100, 60_000).default(2000),
  MEDIA_TLS_TIMEOUT_MS: int(100, 60_000).default(1000),
  MEDIA_MAX_CONNECTIONS: int(1, 100_000).default(500),
  MEDIA_MAX_TIMESTAMP_JUMP_MS: int(1000, 3_600_000).default(60_000),
  MEDIA_MAX_UNMIXED_SOURCES: int(1, 64).default(4),
  ACCEPTED_MODALITIES: z.enum(['audio', 'audio,video']).default('audio'),
  RECORDINGS_DIR: nonEmpty.default('./recordings'),
  POLICY_FILE: z.string().optional(),
  ANSWER_DEADLINE_MS: int(500, 60_000).default(5000),
  MAX_BODY_BYTES: int(1024, 16 * 1024 * 1024).default(256 * 1024),
  GRAPH_WORKER_CONCURRENCY: int(1, 1000).default(50),
  KEEPALIVE_INTERVAL_MS: int(100, 40 * 60_000).default(15 * 60_000),
  MEDIA_ARRIVAL_TIMEOUT_MS: int(100, 10 * 60_000).default(30_000),
  MEDIA_STOP_TIMEOUT_MS: int(200, 60_000).default(3000),
  EFFECT_BUDGET_MS: int(500, 10 * 60_000).default(60_000),
  CALL_RETENTION_MS: int(1000, 30 * 86_400_000).default(3_600_000),
  RECORD_RETENTION_MS: int(1000, 3650 * 86_400_000).default(30 * 86_400_000),
  ROSTER_MODE: z.enum(['full', 'delta']).default('full'),
  ROSTER_MAX_PARTICIPANTS: int(2, 100_000).default(1000),
  ROSTER_MAX_PER_NOTIFICATION: int(1, 100_000).default(1000),
  ROSTER_MAX_ID_LENGTH: int(16, 4096).default(256),
  ADMIN_TOKEN: bearerToken.optional(),
  ADMIN_RATE_LIMIT_PER_MINUTE: int(1, 100_000).default(300),
  ADMIN_MAX_EVENT_STREAMS: int(1, 10_000).default(32),
  ADMIN_HEARTBEAT_MS: int(100, 60_000).default(15_000),
  JAEGER_UI_URL: url(['http:', 'https:']).optional(),
  CALL_HISTORY_MAX: int(10, 10_000).default(200),
  TRANSITIONS_STREAM_MAX: int(0, 1_000_000).default(10_000),
  RECENT_CALLS_MAX: int(100, 10_000_000).default(100_000),
  CONSOLE_DIR: nonEmpty.optional(),
  HTTP_HEADERS_TIMEOUT_MS: int(100, 120_000).default(10_000),
  HTTP_REQUEST_TIMEOUT_MS: int(100, 600_000).default(30_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  OUTBOX_SWEEP_INTERVAL_MS: int(50, 60_000).default(500),
  OUTBOX_GRACE_MS: int(100, 60_000).default(1000),
  DEFER_TIMERS: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  PACK_SNAPSHOTS: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  SHUTDOWN_GRACE_MS: int(2000, 600_000).default(20_000),
  SHUTDOWN_DELAY_MS: int(0, 120_000).default(0),
  FAULT_CRASH_AFTER_COMMIT: z
    .string()
    .regex(/^[A-Z]+\.[A-Z_]+$/, 'must be an event type such as CALL.INCOMING')
    .optional(),
});

export interface Config {
  /** One Redis URL; with `redisCluster`, one or more comma-separated seed nodes. */
  redisUrl: string;
  /** Connect to a Redis Cluster through the seed nodes of `redisUrl`. @default false */
  redisCluster: boolean;
  /** Prefix of every Redis key and BullMQ queue of this deployment. @default 'cr' */
  redisKeyPrefix: string;
  host: string;
  port: number;
  /** Public base of the ingress; `callbackUri` = this + `/api/calling`. */
  publicBaseUrl: string;
  botAppId: string;
  botAppSecret: string;
  teamsOpenIdConfigUrl: string;
  teamsTokenIssuers: readonly string[];
  /** Graph root including the version segment, e.g. `https://graph.microsoft.com/v1.0`. */
  graphBaseUrl: string;
  entraAuthorityHost: string;
  mediaPublicHost: string;
  mediaPort: number;
  mediaTlsCertFile: string | undefined;
  mediaTlsKeyFile: string | undefined;
  /** Bind address of the media TLS endpoint. @default '0.0.0.0' */
  mediaHost: string;
  /**
   * Key of the per-call media credentials (shared by workers, which mint them, and media
   * processes, which check them). @default derived from BOT_APP_SECRET with HKDF
   */
  mediaCredentialSecret: string;
  /** @default 1000 */
  mediaHeartbeatMs: number;
  /** How long a lost media session may be resumed. @default 10000 */
  mediaReconnectWindowMs: number;
  /**
   * How often a media process refreshes its liveness key and sweeps for sessions of dead
   * processes; a process is taken for dead 3 of these after its last refresh.
   * @default a third of `mediaReconnectWindowMs`, within 100..1000
   */
  mediaOrphanSweepMs?: number;
  /** After TLS, a peer must have its HELLO accepted within this. @default 2000 */
  mediaHandshakeTimeoutMs: number;
  /**
   * The ClientHello deadline: from TCP accept, the TLS handshake must be done within this, or
   * the socket is destroyed (half-open and slowly sent ClientHellos). @default 1000
   */
  mediaTlsTimeoutMs: number;
  /** Connections one media process holds at most (handshaking ones included). @default 500 */
  mediaMaxConnections: number;
  /**
   * A frame whose timestamp jumps further than this (beyond the real time that passed) from
   * the session's media clock, forward or back, is a protocol error. @default 60000
   */
  mediaMaxTimestampJumpMs: number;
  /** Unmixed audio sources taken per 20 ms; Teams sends at most four. @default 4 */
  mediaMaxUnmixedSources: number;
  /** The answer's `acceptedModalities`; media of other modalities is dropped. @default ['audio'] */
  acceptedModalities: readonly Modality[];
  recordingsDir: string;
  policyFile: string | undefined;
  /** Teams gives a policy recorder 5 s to answer. @default 5000 */
  answerDeadlineMs: number;
  /** Largest accepted notification body. @default 262144 */
  maxBodyBytes: number;
  graphWorkerConcurrency: number;
  /** keepAlive cadence; Graph ends a call after 45 min without a request. @default 900000 */
  keepAliveIntervalMs: number;
  /** Wait for media after establishment before reporting recording `failed`. @default 30000 */
  mediaArrivalTimeoutMs: number;
  /**
   * How long a stop of persisting waits for the media process's confirmation before the call
   * reports recording `failed` instead of `notRecording`. @default 3000
   */
  mediaStopTimeoutMs: number;
  /** How long recording-status and hang-up requests may be retried. @default 60000 */
  effectBudgetMs: number;
  /** How long a finished call's full state stays in Redis. @default 3600000 */
  callRetentionMs: number;
  /** How long the compact record of a finished call stays queryable. @default 2592000000 */
  recordRetentionMs: number;
  /** Ask Teams for delta rosters (`isDeltaRosterEnabled`) or take full ones. @default 'full' */
  rosterMode: 'full' | 'delta';
  /** Participants kept per call; newcomers beyond are dropped and counted. @default 1000 */
  rosterMaxParticipants: number;
  /** Participants read from one roster notification. @default 1000 */
  rosterMaxPerNotification: number;
  /** Longest participant, identity, tenant or source id kept. @default 256 */
  rosterMaxIdLength: number;
  /** Bearer token of the `/admin/api` routes; they are off when unset. */
  adminToken: string | undefined;
  /** Requests per minute one client may make to `/admin/api` (token bucket). @default 300 */
  adminRateLimitPerMinute: number;
  /** Open `GET /admin/api/events` streams per process; more are refused 503. @default 32 */
  adminMaxEventStreams: number;
  /** Heartbeat comment interval of an event stream. @default 15000 */
  adminHeartbeatMs: number;
  /** Base URL of a Jaeger UI; a call's detail links to `${jaegerUiUrl}/trace/<id>`. */
  jaegerUiUrl: string | undefined;
  /** Transitions kept in each call's history; older ones are shed and counted. @default 200 */
  callHistoryMax: number;
  /**
   * Entries kept in the stream of transitions the operator's live feed reads; 0 turns the feed
   * off (one command less per commit). @default 10000
   */
  transitionsStreamMax: number;
  /** Calls kept in the index of recent calls the operator's list pages through. @default 100000 */
  recentCallsMax: number;
  /** Built operator console served at `/admin/` with the admin routes. @default dist/console */
  consoleDir: string | undefined;
  /** A client must send all request headers within this (slowloris). @default 10000 */
  httpHeadersTimeoutMs: number;
  /** A client must send a whole request within this (slow bodies). @default 30000 */
  httpRequestTimeoutMs: number;
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
  /** How often each replica looks for effects committed but never enqueued. @default 500 */
  outboxSweepIntervalMs: number;
  /** An outbox entry older than this is re-driven by any replica. @default 1000 */
  outboxGraceMs: number;
  /**
   * Keep timer starts due much later with the call until a sweeper hands them to BullMQ shortly
   * before they are due. Off while processes of a build without it still sweep (a rolling
   * upgrade): their sweepers would drop the index entry that leads to a kept start. @default true
   */
  deferTimers: boolean;
  /**
   * Store each call snapshot's roster packed (machines/roster.ts `packRoster`). Every build that
   * has it reads both forms; off while processes of a build without it still run (a rolling
   * upgrade): they would read a packed roster's join history without kinds and identities.
   * @default true
   */
  packSnapshots: boolean;
  /**
   * SIGTERM → exit, every stage included; the process forces its exit after it. Every stage's
   * deadline derives from it (src/process/shutdown.ts). @default 20000
   */
  shutdownGraceMs: number;
  /**
   * SIGTERM: readiness reports 503 this long before the ingress stops accepting; part of
   * `shutdownGraceMs`, which must leave at least 1 s after it to drain and close. @default 0
   */
  shutdownDelayMs: number;
  /**
   * Tests only: the process kills itself (SIGKILL) right after committing an event of this type
   * and before enqueuing its effects — the crash the outbox sweeper exists for.
   */
  faultCrashAfterCommit: string | undefined;
}

export type Modality = 'audio' | 'video';

/** What SHUTDOWN_GRACE_MS must leave after SHUTDOWN_DELAY_MS to drain and close. */
const MIN_DRAIN_MS = 1000;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Parse and validate `env` (default `process.env`); throws `ConfigError` naming each bad variable.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const present = Object.fromEntries(
    Object.keys(EnvSchema.shape).flatMap((k) =>
      env[k] === undefined || env[k] === '' ? [] : [[k, env[k]]],
    ),
  );
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = String(i.path[0] ?? '?');
      if (i.code === 'invalid_type' && env[name] === undefined) return `${name} is required`;
      const value = env[name] ?? '';
      const shown = SECRET_VARIABLES.has(name)
        ? `(${value.length} characters, value not shown)`
        : `(got ${JSON.stringify(URL_VARIABLES.has(name) ? redactUrl(value) : value)})`;
      return `${name}: ${i.message} ${shown}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  if (!e.REDIS_CLUSTER && e.REDIS_URL.includes(',')) {
    throw new ConfigError(
      'invalid configuration:\n  REDIS_URL names several nodes: set REDIS_CLUSTER=true for a cluster',
    );
  }
  if ((e.MEDIA_TLS_CERT_FILE === undefined) !== (e.MEDIA_TLS_KEY_FILE === undefined)) {
    throw new ConfigError(
      'invalid configuration:\n  MEDIA_TLS_CERT_FILE and MEDIA_TLS_KEY_FILE must be set together',
    );
  }
  if (e.SHUTDOWN_DELAY_MS > e.SHUTDOWN_GRACE_MS - MIN_DRAIN_MS) {
    throw new ConfigError(
      `invalid configuration:\n  SHUTDOWN_DELAY_MS (${e.SHUTDOWN_DELAY_MS}) must be at least ${MIN_DRAIN_MS} ms less than SHUTDOWN_GRACE_MS (${e.SHUTDOWN_GRACE_MS}): the delay is part of the grace, and the drain needs the rest`,
    );
  }
  return Object.freeze({
    redisUrl: e.REDIS_URL,
    redisCluster: e.REDIS_CLUSTER,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    host: e.HOST,
    port: e.PORT,
    publicBaseUrl: e.PUBLIC_BASE_URL.replace(/\/+$/, ''),
    botAppId: e.BOT_APP_ID,
    botAppSecret: e.BOT_APP_SECRET,
    teamsOpenIdConfigUrl: e.TEAMS_OPENID_CONFIG_URL,
    teamsTokenIssuers: Object.freeze([...e.TEAMS_TOKEN_ISSUERS]),
    graphBaseUrl: e.GRAPH_BASE_URL.replace(/\/+$/, ''),
    entraAuthorityHost: e.ENTRA_AUTHORITY_HOST.replace(/\/+$/, ''),
    mediaPublicHost: e.MEDIA_PUBLIC_HOST,
    mediaPort: e.MEDIA_PORT,
    mediaTlsCertFile: e.MEDIA_TLS_CERT_FILE,
    mediaTlsKeyFile: e.MEDIA_TLS_KEY_FILE,
    mediaHost: e.MEDIA_HOST,
    mediaCredentialSecret:
      e.MEDIA_CREDENTIAL_SECRET ??
      Buffer.from(
        hkdfSync('sha256', e.BOT_APP_SECRET, 'cr-orchestrator', 'media-credential', 32),
      ).toString('base64url'),
    mediaHeartbeatMs: e.MEDIA_HEARTBEAT_MS,
    mediaReconnectWindowMs: e.MEDIA_RECONNECT_WINDOW_MS,
    mediaOrphanSweepMs: e.MEDIA_ORPHAN_SWEEP_MS,
    mediaHandshakeTimeoutMs: e.MEDIA_HANDSHAKE_TIMEOUT_MS,
    mediaTlsTimeoutMs: e.MEDIA_TLS_TIMEOUT_MS,
    mediaMaxConnections: e.MEDIA_MAX_CONNECTIONS,
    mediaMaxTimestampJumpMs: e.MEDIA_MAX_TIMESTAMP_JUMP_MS,
    mediaMaxUnmixedSources: e.MEDIA_MAX_UNMIXED_SOURCES,
    acceptedModalities: Object.freeze(e.ACCEPTED_MODALITIES.split(',') as Modality[]),
    recordingsDir: e.RECORDINGS_DIR,
    policyFile: e.POLICY_FILE,
    answerDeadlineMs: e.ANSWER_DEADLINE_MS,
    maxBodyBytes: e.MAX_BODY_BYTES,
    graphWorkerConcurrency: e.GRAPH_WORKER_CONCURRENCY,
    keepAliveIntervalMs: e.KEEPALIVE_INTERVAL_MS,
    mediaArrivalTimeoutMs: e.MEDIA_ARRIVAL_TIMEOUT_MS,
    mediaStopTimeoutMs: e.MEDIA_STOP_TIMEOUT_MS,
    effectBudgetMs: e.EFFECT_BUDGET_MS,
    callRetentionMs: e.CALL_RETENTION_MS,
    recordRetentionMs: e.RECORD_RETENTION_MS,
    rosterMode: e.ROSTER_MODE,
    rosterMaxParticipants: e.ROSTER_MAX_PARTICIPANTS,
    rosterMaxPerNotification: e.ROSTER_MAX_PER_NOTIFICATION,
    rosterMaxIdLength: e.ROSTER_MAX_ID_LENGTH,
    adminToken: e.ADMIN_TOKEN,
    adminRateLimitPerMinute: e.ADMIN_RATE_LIMIT_PER_MINUTE,
    adminMaxEventStreams: e.ADMIN_MAX_EVENT_STREAMS,
    adminHeartbeatMs: e.ADMIN_HEARTBEAT_MS,
    jaegerUiUrl: e.JAEGER_UI_URL?.replace(/\/+$/, ''),
    callHistoryMax: e.CALL_HISTORY_MAX,
    transitionsStreamMax: e.TRANSITIONS_STREAM_MAX,
    recentCallsMax: e.RECENT_CALLS_MAX,
    consoleDir: e.CONSOLE_DIR,
    httpHeadersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
    httpRequestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
    logLevel: e.LOG_LEVEL,
    outboxSweepIntervalMs: e.OUTBOX_SWEEP_INTERVAL_MS,
    outboxGraceMs: e.OUTBOX_GRACE_MS,
    deferTimers: e.DEFER_TIMERS,
    packSnapshots: e.PACK_SNAPSHOTS,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    shutdownDelayMs: e.SHUTDOWN_DELAY_MS,
    faultCrashAfterCommit: e.FAULT_CRASH_AFTER_COMMIT,
  });
}

/**
 * The files the configuration names exist and are readable: a missing key or policy file is a
 * configuration error (exit 2, not restarted), found before anything starts. Kept apart from
 * `loadConfig` so that manifests can be checked on a machine without those files.
 */
export function checkConfigFiles(
  config: Pick<Config, 'policyFile' | 'mediaTlsCertFile' | 'mediaTlsKeyFile'>,
): void {
  const files: Array<[string, string | undefined]> = [
    ['POLICY_FILE', config.policyFile],
    ['MEDIA_TLS_CERT_FILE', config.mediaTlsCertFile],
    ['MEDIA_TLS_KEY_FILE', config.mediaTlsKeyFile],
  ];
  const problems = files.flatMap(([name, file]) => {
    if (file === undefined) return [];
    try {
      accessSync(file, constants.R_OK);
      if (!statSync(file).isFile()) return [`${name}: ${JSON.stringify(file)} is not a file`];
      return [];
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      return [`${name}: cannot read ${JSON.stringify(file)} (${code})`];
    }
  });
  if (problems.length > 0) {
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

/** What the OpenTelemetry bootstrap needs; the SDK itself reads the other `OTEL_*` variables. */
export interface TelemetrySettings {
  /** On when an OTLP endpoint or a traces exporter is configured and the SDK is not disabled. */
  enabled: boolean;
  /** OTLP metrics go out with the traces unless `OTEL_METRICS_EXPORTER=none`. @default false */
  otlpMetrics?: boolean;
  /**
   * `OTEL_SERVICE_NAME`, when set, replaces `cr-orchestrator` as the base of each process's name
   * (`<base>-ingress`, …).
   */
  serviceName: string | undefined;
  /**
   * `PROMETHEUS_PORT` (and `PROMETHEUS_HOST`): this process serves its metrics at `/metrics`
   * for a Prometheus that scrapes; off when unset. Independent of OTLP, and of
   * `OTEL_SDK_DISABLED`, which is about the exporters the SDK configures from the environment.
   */
  prometheus?: { host: string; port: number } | undefined;
}

export function telemetrySettings(
  env: Record<string, string | undefined> = process.env,
): TelemetrySettings {
  const disabled = env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true';
  const exporter = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase();
  const configured =
    Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) ||
    (exporter !== undefined && exporter !== '' && exporter !== 'none');
  const enabled = configured && !disabled && exporter !== 'none';
  const metricsExporters = (env.OTEL_METRICS_EXPORTER ?? '').toLowerCase().split(',');
  return {
    enabled,
    otlpMetrics: enabled && !metricsExporters.map((e) => e.trim()).includes('none'),
    serviceName: env.OTEL_SERVICE_NAME?.trim() || undefined,
    prometheus: prometheusSettings(env),
  };
}

function prometheusSettings(
  env: Record<string, string | undefined>,
): TelemetrySettings['prometheus'] {
  const raw = env.PROMETHEUS_PORT?.trim();
  if (!raw) return undefined;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 1 || port > 65535)
    throw new ConfigError(`PROMETHEUS_PORT: must be a port number (1-65535), got ${raw}`);
  return { host: env.PROMETHEUS_HOST?.trim() || '0.0.0.0', port };
}
