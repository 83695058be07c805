/**
 * The simulator's own span helper, on `@opentelemetry/api` alone (the package never imports the
 * orchestrator). With no SDK registered every call here is a cheap no-op; the process that embeds
 * the simulator decides whether and where spans go.
 */
import {
  context,
  createContextKey,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';

/** Instrumentation scope of the simulator's tracer. */
export const SCOPE = '@cr-orchestrator/teams-simulator';

/** Attribute names the simulator puts on its spans (OpenTelemetry semantic names where one exists). */
export const ATTR = {
  callId: 'cr.call.id',
  /** The notification kind (and state) of a webhook delivery. */
  simNotification: 'cr.sim.notification',
  httpMethod: 'http.request.method',
  httpRoute: 'http.route',
  httpStatus: 'http.response.status_code',
} as const;

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** Parent context; default the active one. `ROOT_CONTEXT` starts a new trace. */
  parent?: Context;
}

/**
 * Runs `fn` in a new active span, ends it, and records a thrown error on it (and rethrows the error
 * unchanged: telemetry never changes what the caller sees).
 */
export function withSpan<T>(
  name: string,
  options: SpanOptions,
  fn: (span: Span) => Promise<T> | T,
): Promise<T> {
  const { parent = context.active(), ...rest } = options;
  return trace.getTracer(SCOPE).startActiveSpan(name, rest, parent, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** The context W3C trace headers describe (a remote parent), or the root context. */
export function contextFrom(carrier: Record<string, string> | undefined): Context {
  return carrier ? propagation.extract(ROOT_CONTEXT, carrier) : ROOT_CONTEXT;
}

export { SpanKind, ROOT_CONTEXT };

// `createContextKey` is `Symbol.for(description)`, so an HTTP client instrumentation that reads
// this key (the orchestrator's undici `startSpanHook`, src/telemetry/spans.ts) sees these
// attributes without either side importing the other.
const REQUEST_ATTRIBUTES = createContextKey('cr.request.attributes');

/**
 * Runs `fn` with attributes that the HTTP client span of any request it makes may carry;
 * `parent` (default the active context) decides the trace those requests join.
 */
export function withRequestAttributes<T>(
  attributes: Attributes,
  fn: () => Promise<T>,
  parent: Context = context.active(),
): Promise<T> {
  return context.with(parent.setValue(REQUEST_ATTRIBUTES, attributes), fn);
}
