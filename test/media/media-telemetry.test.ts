/**
 * The media process's telemetry: a real call streamed over real TLS by the
 * simulator's media peer, with an in-memory OpenTelemetry SDK registered in this process (each
 * test file runs in its own fork, so the globals are ours). The in-process media role records
 * its instruments to the test system's own meter provider (test/helpers/metrics.ts); the
 * global one is what a component without a provider binds to, as in production.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { metrics, tracing } from '@opentelemetry/sdk-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRecording } from '../../src/media/recording/index.js';
import { MediaTelemetry } from '../../src/media/telemetry.js';
import { ATTR, METRIC } from '../../src/telemetry/index.js';
import { startTelemetry, type Telemetry } from '../../src/telemetry/sdk.js';
import { hello as helloAt } from '../helpers/media.js';
import { callReaches, eventually, startSystem, type System } from '../helpers/system.js';

const exporter = new tracing.InMemorySpanExporter();
const metricExporter = new metrics.InMemoryMetricExporter(
  metrics.AggregationTemporality.CUMULATIVE,
);
// exports only when flushed (the interval is far beyond any test)
const reader = new metrics.PeriodicExportingMetricReader({
  exporter: metricExporter,
  exportIntervalMillis: 3_600_000,
});
let telemetry: Telemetry;
let system: System;

beforeAll(async () => {
  telemetry = startTelemetry({
    role: 'media-test',
    spanProcessors: [new tracing.SimpleSpanProcessor(exporter)],
    metricReaders: [reader],
  });
  system = await startSystem({
    name: 'media-telemetry',
    media: { inProcess: true },
    sim: { media: { enabled: true, paceMs: 10 } },
  });
});
afterAll(async () => {
  await system?.close();
  await telemetry?.shutdown();
});

const spans = () => exporter.getFinishedSpans();
const spansOf = (callId: string) => spans().filter((s) => s.attributes[ATTR.callId] === callId);

/** The latest cumulative points of one metric on the global meter, as [attributes, value] pairs. */
async function points(
  name: string,
): Promise<{ attributes: Record<string, unknown>; value: number }[]> {
  metricExporter.reset();
  await reader.forceFlush();
  const batches = metricExporter.getMetrics();
  const found = batches
    .at(-1)
    ?.scopeMetrics.flatMap((s) => s.metrics)
    .find((m) => m.descriptor.name === name);
  return (found?.dataPoints ?? []).map((p) => ({
    attributes: p.attributes,
    value: p.value as number,
  }));
}

const hello = (credential: string, callId: string) =>
  helloAt(system.config.mediaPort, credential, callId);

describe('media telemetry', () => {
  it('traces the handshake and every state change of a recorded call, and counts its frames', async () => {
    const call = await system.sim.placeCall({ kind: 'meeting' });
    await call.waitFor('established', 8000);
    await callReaches(system, call.id, 'recording', 8000);
    const credential = call.media!.blob!.credential;
    const counted = system.metrics;
    await eventually(async () =>
      (await counted.value(METRIC.framesWritten)) > 100 ? true : undefined,
    );
    expect(await counted.value(METRIC.mediaStreams)).toBe(1);
    expect(
      await counted.value(METRIC.mediaSessions, { [ATTR.handshakeOutcome]: 'accepted' }),
    ).toBeGreaterThanOrEqual(1);

    // a forged credential for the same call is refused, and says why
    const forged = `${credential.slice(0, -2)}AA`;
    expect(await hello(forged, call.id)).toMatchObject({ type: 'refuse', reason: 'bad-signature' });

    await call.hangUp();
    await callReaches(system, call.id, 'terminated', 10_000);
    const ended = await eventually(
      () => spansOf(call.id).find((s) => s.name === 'media.state ended'),
      10_000,
      'the ended span',
    );

    const handshakes = spansOf(call.id).filter((s) => s.name === 'media.handshake');
    const accepted = handshakes.find((s) => s.attributes[ATTR.handshakeOutcome] === 'accepted');
    expect(accepted?.kind).toBe(1); // SpanKind.SERVER
    const refused = handshakes.find((s) => s.attributes[ATTR.handshakeOutcome] === 'refused');
    expect(refused?.attributes[ATTR.refusal]).toBe('bad-signature');

    // one span per state change, each its own trace linked to the call's first trace
    const states = spansOf(call.id).filter((s) => s.name.startsWith('media.state '));
    const session = accepted!.attributes[ATTR.mediaSession];
    for (const state of ['connected', 'flowing', 'ended']) {
      const span = states.find((s) => s.attributes[ATTR.mediaState] === state);
      expect(span, state).toBeDefined();
      expect(span!.attributes[ATTR.mediaSession]).toBe(session);
    }
    const firstTrace = (await system.core.store.load(call.id)).trace?.traceparent;
    expect(firstTrace).toBeDefined();
    const firstTraceId = firstTrace!.split('-')[1];
    for (const span of [accepted!, ...states]) {
      expect(span.links.map((l) => l.context.traceId)).toContain(firstTraceId);
      expect(span.spanContext().traceId).not.toBe(firstTraceId);
    }
    // the call's applyEvent of MEDIA.ENDED is a child of the ended span
    const applied = spans().find(
      (s) => s.name === 'applyEvent MEDIA.ENDED' && s.attributes[ATTR.callId] === call.id,
    );
    expect(applied?.parentSpanContext?.spanId).toBe(ended.spanContext().spanId);

    // the instruments counted the call, and the stream is no longer counted
    expect(await counted.value(METRIC.framesWritten)).toBeGreaterThan(100);
    expect(await counted.value(METRIC.mediaStreams)).toBe(0);
    expect(await counted.by(METRIC.mediaRefused, ATTR.refusal)).toMatchObject({
      'bad-signature': 1,
    });
    // and only to the provider they were given: nothing of the role's on the global meter
    expect(await points(METRIC.framesWritten)).toEqual([]);

    // neither the credential nor anything that contains it is ever an attribute
    const attributeText = JSON.stringify(
      spans().map((s) => [s.attributes, s.links.map((l) => l.attributes), s.events]),
    );
    expect(attributeText).not.toContain(credential);
    expect(attributeText).not.toContain(forged);
    expect(attributeText).not.toContain(credential.slice(-24));
  }, 40_000);
});

describe('recording gaps', () => {
  it('counts a gap once the manifest lists it, by reason, on the global meter by default', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cr-gaps-'));
    const media = new MediaTelemetry();
    const before = await points(METRIC.recordingGaps);
    const count = (reason: string) =>
      points(METRIC.recordingGaps).then(
        (ps) => ps.find((p) => p.attributes[ATTR.gapReason] === reason)?.value ?? 0,
      );
    expect(before).toEqual([]);
    try {
      const rec = await openRecording({
        rootDir: dir,
        callId: 'gaps',
        fsync: false,
        onGap: (gap) => media.gap(gap),
      });
      const frame = Buffer.alloc(640, 1);
      await rec.writeAudio('mixed', 1000, frame);
      await rec.writeAudio('mixed', 3000, frame); // a 2 s hole: filled with silence and listed
      expect(await count('silence-fill')).toBe(0); // not listed until its segment is sealed
      await rec.noteGap(3000, 3400, 'peer-reported-loss', 'mixed');
      const finalized = await rec.finalize();
      expect(finalized.gaps.map((g) => g.reason).sort()).toEqual([
        'peer-reported-loss',
        'silence-fill',
      ]);
      expect(await count('silence-fill')).toBe(1);
      expect(await count('peer-reported-loss')).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
