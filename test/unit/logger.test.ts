/** JSON log lines carry the active span's ids, and secrets never reach them. */
import { Writable } from 'node:stream';
import { tracing } from '@opentelemetry/sdk-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { withSpan } from '../../src/telemetry/index.js';
import { startTelemetry, type Telemetry } from '../../src/telemetry/sdk.js';

let telemetry: Telemetry;
const exporter = new tracing.InMemorySpanExporter();
beforeAll(() => {
  telemetry = startTelemetry({
    role: 'test',
    settings: { enabled: false, serviceName: undefined },
    spanProcessors: [new tracing.SimpleSpanProcessor(exporter)],
  });
});
afterAll(() => telemetry.shutdown());

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('test', 'info', stream), lines };
}

describe('logs', () => {
  it('carry trace_id and span_id of the active span, and none outside a span', async () => {
    const { logger, lines } = capture();
    let ids = { traceId: '', spanId: '' };
    await withSpan('work', {}, (span) => {
      ids = span.spanContext();
      logger.info('inside');
    });
    logger.info('outside');
    await new Promise((r) => setImmediate(r));
    expect(lines[0]).toMatchObject({ msg: 'inside', trace_id: ids.traceId, span_id: ids.spanId });
    expect(ids.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(lines[1]).not.toHaveProperty('trace_id');
  });

  it('redact tokens, secrets and credentials at the top level and one level down', async () => {
    const { logger, lines } = capture();
    logger.info(
      {
        authorization: 'Bearer eyJhbGciOi.secret.part',
        req: { headers: { authorization: 'Bearer abc' } },
        config: { botAppSecret: 's3cret', mediaCredentialSecret: 'm3dia', adminToken: 'adm' },
        hello: { credential: 'cred-value', resume: 'resume-token' },
        callId: 'c-1',
      },
      'configured',
    );
    await new Promise((r) => setImmediate(r));
    const text = JSON.stringify(lines[0]);
    for (const secret of [
      'eyJhbGciOi',
      'Bearer abc',
      's3cret',
      'm3dia',
      'adm"',
      'cred-value',
      'resume-token',
    ])
      expect(text).not.toContain(secret);
    expect(lines[0]).toMatchObject({ callId: 'c-1' });
    expect(text).toContain('[redacted]');
  });
});
