/**
 * The one span helper (telemetry never throws into the app) and the trace carrier that crosses hops
 * that are not HTTP: BullMQ job data, the call's stored root trace. Business code uses only these
 * and
 * `@opentelemetry/api`; with no SDK registered every call here is a cheap no-op.
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
  type Link,
  type Span,
} from '@opentelemetry/api';
import { SCOPE } from './attributes.js';

/** W3C trace context as plain strings (`traceparent`, optional `tracestate`). */
export type TraceCarrier = Record<string, string>;

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  links?: Link[];
  /** Parent context; default the active one. `ROOT_CONTEXT` starts a new trace. */
  parent?: Context;
}

export const tracer = () => trace.getTracer(SCOPE);

/**
 * Runs `fn` in a new active span, ends it, and records a thrown error on it (and rethrows the
 * error unchanged: telemetry never changes what the application sees).
 */
export function withSpan<T>(
  name: string,
  options: SpanOptions,
  fn: (span: Span) => Promise<T> | T,
): Promise<T> {
  const { parent = context.active(), ...rest } = options;
  return tracer().startActiveSpan(name, rest, parent, async (span) => {
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

/** The active trace context as a carrier, or undefined when nothing is being traced. */
export function currentCarrier(ctx: Context = context.active()): TraceCarrier | undefined {
  if (!trace.getSpanContext(ctx)) return undefined;
  const carrier: TraceCarrier = {};
  propagation.inject(ctx, carrier);
  return carrier.traceparent ? carrier : undefined;
}

/** The context a carrier describes (a remote parent), or the root context. */
export function contextFrom(carrier: TraceCarrier | undefined): Context {
  return carrier ? propagation.extract(ROOT_CONTEXT, carrier) : ROOT_CONTEXT;
}

/** A link to the span a carrier names, unless it is the trace we are already in. */
export function linkTo(carrier: TraceCarrier | undefined, attributes?: Attributes): Link[] {
  const target = carrier && trace.getSpanContext(contextFrom(carrier));
  if (!target) return [];
  if (target.traceId === trace.getSpanContext(context.active())?.traceId) return [];
  return [{ context: target, ...(attributes ? { attributes } : {}) }];
}

export { SpanKind, ROOT_CONTEXT };

const REQUEST_ATTRIBUTES = createContextKey('cr.request.attributes');

/**
 * Runs `fn` with attributes that the HTTP client span of any request it makes will carry;
 * `parent` (default the active context) decides the trace those requests join.
 */
export function withRequestAttributes<T>(
  attributes: Attributes,
  fn: () => Promise<T>,
  parent: Context = context.active(),
): Promise<T> {
  return context.with(parent.setValue(REQUEST_ATTRIBUTES, attributes), fn);
}

/** The attributes `withRequestAttributes` put on a context (empty when none). */
export function requestAttributes(ctx: Context): Attributes {
  return (ctx.getValue(REQUEST_ATTRIBUTES) as Attributes | undefined) ?? {};
}
