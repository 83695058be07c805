/**
 * Structured JSON logs (pino). Every line written inside a span carries its `trace_id` and
 * `span_id` (the names the OpenTelemetry log data model and Jaeger's log search use), and
 * secrets never reach a line.
 */
import { context, trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger } from 'pino';

/** Paths pino blanks wherever they occur (one level deep and at the top). */
const SECRET_KEYS = [
  'authorization',
  'botAppSecret',
  'mediaCredentialSecret',
  'adminToken',
  'access_token',
  'client_secret',
  'credential',
  'resume',
  'token',
  'password',
];

/** A role's logger; `destination` (default stdout) is for tests. */
export function createLogger(
  name: string,
  level: string = 'info',
  destination?: DestinationStream,
): Logger {
  const options = {
    name,
    level,
    redact: {
      paths: [
        ...SECRET_KEYS,
        ...SECRET_KEYS.map((k) => `*.${k}`),
        '*.headers.authorization',
        'req.headers.authorization',
      ],
      censor: '[redacted]',
    },
    mixin: traceFields,
  };
  return destination ? pino(options, destination) : pino(options);
}

/** The active span's ids, for correlating a log line with its trace. */
export function traceFields(): Record<string, string> {
  const span = trace.getSpanContext(context.active());
  if (!span || !trace.isSpanContextValid(span)) return {};
  return {
    trace_id: span.traceId,
    span_id: span.spanId,
    trace_flags: `0${span.traceFlags.toString(16)}`,
  };
}
