/**
 * With an in-memory exporter, one incoming call produces one
 * connected trace from the webhook through the queue to the Graph answer, with the attributes
 * the issue names; later events link to the call's first trace instead of joining it; the
 * metrics count what happened; no span carries a token or an authorization header.
 */
import { SpanKind } from '@opentelemetry/api';
import { metrics, tracing } from '@opentelemetry/sdk-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTR, METRIC } from '../../src/telemetry/index.js';
import { startTelemetry, type Telemetry } from '../../src/telemetry/sdk.js';
import { callReaches, eventually, startSystem, type System } from '../helpers/system.js';

type Span = tracing.ReadableSpan;
const spans = new tracing.InMemorySpanExporter();
const metricExporter = new metrics.InMemoryMetricExporter(
  metrics.AggregationTemporality.CUMULATIVE,
);
const reader = new metrics.PeriodicExportingMetricReader({
  exporter: metricExporter,
  exportIntervalMillis: 60_000,
});
let telemetry: Telemetry;
let system: System;

beforeAll(async () => {
  // first, as in every composition root: instruments bind to the provider when components start
  telemetry = startTelemetry({
    role: 'test',
    settings: { enabled: false, serviceName: undefined },
    spanProcessors: [new tracing.SimpleSpanProcessor(spans)],
    metricReaders: [reader],
  });
  system = await startSystem({
    name: 'telemetry-trace',
    env: { KEEPALIVE_INTERVAL_MS: '1500', MEDIA_ARRIVAL_TIMEOUT_MS: '600000' },
  });
});
afterAll(async () => {
  await system?.close();
  await telemetry?.shutdown();
});

const byId = (all: Span[]) => new Map(all.map((s) => [s.spanContext().spanId, s]));
const parentOf = (s: Span) => s.parentSpanContext?.spanId;
const attr = (s: Span, key: string) => s.attributes[key];

/** The chain of ancestors of `span` within `all`, nearest first. */
function ancestors(span: Span, all: Span[]): Span[] {
  const index = byId(all);
  const out: Span[] = [];
  for (let p = parentOf(span); p && index.has(p); p = parentOf(index.get(p)!))
    out.push(index.get(p)!);
  return out;
}

const find = (all: Span[], pred: (s: Span) => boolean, what: string): Span => {
  const hit = all.find(pred);
  if (!hit) throw new Error(`no span ${what} among ${all.map((s) => s.name).join(', ')}`);
  return hit;
};

describe('one call, one connected trace', () => {
  it('runs from the webhook through the queue to the Graph answer, with the issue’s attributes', async () => {
    const call = await system.sim.placeCall({ kind: 'p2p' });
    await call.waitFor('established', 8000);
    await callReaches(system, call.id, 'established');
    const incoming = await eventually(
      () =>
        spans
          .getFinishedSpans()
          .find((s) => s.name === 'applyEvent CALL.INCOMING' && attr(s, 'cr.call.id') === call.id),
      5000,
      'the invite’s applyEvent span',
    );
    const traceId = incoming.spanContext().traceId;
    // the answer's result is reported inside the job's span, so it ends in the same trace
    const accepted = await eventually(
      () =>
        spans
          .getFinishedSpans()
          .find(
            (s) =>
              s.name === 'applyEvent GRAPH.ANSWER_ACCEPTED' && s.spanContext().traceId === traceId,
          ),
      5000,
      'the answer result in the invite trace',
    );
    const trace = spans.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);

    const webhook = find(
      trace,
      (s) => s.kind === SpanKind.SERVER && s.name === 'POST /api/calling',
      'webhook server span',
    );
    expect(attr(webhook, 'http.route')).toBe('/api/calling');
    expect(attr(webhook, 'http.response.status_code')).toBe(202);
    expect(attr(webhook, 'cr.tenant.id')).toBe(call.tenantId);
    const jwt = find(trace, (s) => s.name === 'teams.jwt.verify', 'JWT verification');
    expect(parentOf(jwt)).toBe(webhook.spanContext().spanId);
    expect(attr(jwt, 'cr.auth.outcome')).toBe('ok');

    expect(incoming.attributes).toMatchObject({
      'cr.call.id': call.id,
      'cr.tenant.id': call.tenantId,
      'cr.call.event': 'CALL.INCOMING',
      'cr.call.from_state': 'idle',
      'cr.call.to_state': 'answering',
      'cr.call.version': 1,
      'cr.call.outcome': 'committed',
    });
    expect(ancestors(incoming, trace)).toContain(webhook);
    const commit = find(
      trace,
      (s) => s.name === 'redis commit' && parentOf(s) === incoming.spanContext().spanId,
      'the commit under the invite',
    );
    expect(commit.attributes).toMatchObject({
      'cr.call.outcome': 'committed',
      'cr.call.version': 1,
    });

    const enqueue = find(
      trace,
      (s) => s.kind === SpanKind.PRODUCER && s.name === 'enqueue graph.answer',
      'the answer enqueue',
    );
    expect(parentOf(enqueue)).toBe(incoming.spanContext().spanId);
    const job = find(
      trace,
      (s) => s.kind === SpanKind.CONSUMER && s.name === 'process graph.answer',
      'the answer job',
    );
    expect(parentOf(job)).toBe(enqueue.spanContext().spanId);
    expect(job.attributes).toMatchObject({ 'cr.call.id': call.id, 'cr.job.attempt': 1 });

    const request = find(
      trace,
      (s) => s.kind === SpanKind.CLIENT && /\/answer$/.test(String(attr(s, 'url.path'))),
      'the Graph HTTP request',
    );
    expect(ancestors(request, trace)).toContain(job);
    // Graph's success shape varies per request: 200, 202 or 204
    expect([200, 202, 204]).toContain(request.attributes['http.response.status_code']);
    expect(request.attributes).toMatchObject({
      'cr.graph.operation': 'answer',
      'cr.graph.retry_count': 0,
      'http.request.method': 'POST',
    });
    // the fake Graph continued the trace from the request's traceparent header
    const graphSide = find(
      trace,
      (s) => s.kind === SpanKind.SERVER && s.name === 'POST answer',
      'the simulator’s answer handler',
    );
    expect(parentOf(graphSide)).toBe(request.spanContext().spanId);
    expect(ancestors(accepted, trace)).toContain(job);
    expect(accepted.attributes).toMatchObject({
      'cr.call.from_state': 'answering',
      'cr.call.outcome': 'committed',
    });

    // the live-call index rides the commit with no span of its own: no queue, no consumer
    expect(trace.map((s) => s.name)).not.toContain('enqueue active-calls.started');
    expect(trace.filter((s) => s.kind === SpanKind.PRODUCER).map((s) => s.name)).toEqual(
      expect.arrayContaining(['enqueue graph.answer']),
    );

    // connected: every span but the root has its parent in the trace
    const ids = byId(trace);
    const roots = trace.filter((s) => !parentOf(s) || !ids.has(parentOf(s)!));
    expect(roots).toHaveLength(1);
  });

  it('later notifications and timers start their own traces and link to the first', async () => {
    const call = await system.sim.placeCall({ kind: 'p2p' });
    await call.waitFor('established', 8000);
    const first = await eventually(
      () =>
        spans
          .getFinishedSpans()
          .find((s) => s.name === 'applyEvent CALL.INCOMING' && attr(s, 'cr.call.id') === call.id),
      5000,
    );
    const firstTrace = first.spanContext().traceId;
    const established = await eventually(
      () =>
        spans
          .getFinishedSpans()
          .find(
            (s) => s.name === 'applyEvent CALL.ESTABLISHED' && attr(s, 'cr.call.id') === call.id,
          ),
      5000,
      'the established event',
    );
    expect(established.spanContext().traceId).not.toBe(firstTrace);
    expect(established.links.map((l) => l.context.traceId)).toContain(firstTrace);
    // the keep-alive timer fires 1.5 s later in a trace of its own, linked to the one that armed it
    const fire = await eventually(
      () =>
        spans
          .getFinishedSpans()
          .find(
            (s) =>
              s.kind === SpanKind.CONSUMER &&
              s.name.startsWith('process timers.') &&
              attr(s, 'cr.call.id') === call.id,
          ),
      6000,
      'a timer job span',
    );
    expect(fire.parentSpanContext).toBeUndefined();
    expect(fire.links).not.toHaveLength(0);
    await call.hangUp();
  });

  it('puts no token, credential or authorization header on any span', async () => {
    const call = await system.sim.placeCall({ kind: 'meeting' });
    await call.waitFor('established', 8000);
    await callReaches(system, call.id, 'established');
    const all = spans.getFinishedSpans();
    // the call's spans are there (its answer carried a media credential in its body)
    expect(all.filter((s) => s.attributes['cr.call.id'] === call.id).length).toBeGreaterThan(5);
    for (const s of all) {
      for (const [key, value] of Object.entries(s.attributes)) {
        expect(key).not.toMatch(/authorization|token|secret|credential/i);
        expect(String(value)).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}|Bearer /);
      }
    }
  });

  it('counts invites, answer latency, queue wait and duplicates', async () => {
    const call = await system.sim.placeCall({ kind: 'p2p', duplicateNotifications: true });
    await call.waitFor('established', 8000);
    await callReaches(system, call.id, 'established');
    await reader.forceFlush();
    const points = new Map<string, metrics.MetricData>();
    for (const batch of metricExporter.getMetrics())
      for (const scope of batch.scopeMetrics)
        for (const m of scope.metrics) points.set(m.descriptor.name, m);
    const invites = points.get(METRIC.invites);
    const answered = invites?.dataPoints.find((p) => p.attributes.outcome === 'answered');
    expect(answered?.value).toBeGreaterThanOrEqual(3);
    const latency = points.get(METRIC.answerLatency)?.dataPoints[0]?.value as
      metrics.Histogram | undefined;
    expect(latency?.count).toBeGreaterThanOrEqual(3);
    expect(latency?.max).toBeLessThan(5000);
    const wait = points
      .get(METRIC.queueWait)
      ?.dataPoints.find((p) => p.attributes['messaging.destination.name'] === 'graph')?.value as
      metrics.Histogram | undefined;
    expect(wait?.count).toBeGreaterThanOrEqual(3);
    // every notification came twice: each copy is a duplicate at the commit, never merely an
    // event the machine ignored (that count is kept apart)
    const copies = system.sim.deliveries.filter(
      (d) => d.callId === call.id && d.duplicate && d.status === 202,
    ).length;
    expect(copies).toBeGreaterThanOrEqual(3);
    const outcomes = spans
      .getFinishedSpans()
      .filter((s) => s.name.startsWith('applyEvent CALL.') && attr(s, 'cr.call.id') === call.id)
      .map((s) => attr(s, ATTR.outcome));
    expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(copies);
    expect(outcomes).not.toContain('ignored');
    const byOutcome = (outcome: string) =>
      points
        .get(METRIC.commitDuplicates)
        ?.dataPoints.find((p) => p.attributes[ATTR.outcome] === outcome)?.value as
        number | undefined;
    expect(byOutcome('duplicate')).toBeGreaterThanOrEqual(copies);
    const active = points.get(METRIC.activeCalls)?.dataPoints[0]?.value;
    expect(active).toBe(await system.core.runtime.activeCallCount());
  });
});
