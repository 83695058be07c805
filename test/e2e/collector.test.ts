/**
 * otel-collector.yaml in the real collector (built from source with exactly its components):
 * the collector validates it and refuses a broken copy; spans sent through it arrive in a real
 * Jaeger with every deletion and redaction applied; metrics leave through its Prometheus
 * exporter.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toolPath } from '../../src/dev/go-tools.js';
import {
  COLLECTOR_CONFIG,
  validateCollectorConfig,
  type ObservabilityStack,
} from '../../src/dev/observability-stack.js';
import { eventually } from '../helpers/system.js';
import { getTrace, startTestStack, tagOf } from './jaeger.js';

const tools = { jaeger: toolPath('jaeger'), otelcol: toolPath('otelcol') };
let stack: ObservabilityStack;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

const b64url = (json: object) => Buffer.from(JSON.stringify(json)).toString('base64url');
const JWT = [
  b64url({ alg: 'RS256', typ: 'JWT' }),
  b64url({ aud: 'bot-app-id', upn: 'carol@contoso.com' }),
  randomBytes(32).toString('base64url'),
].join('.');
const EMAIL = 'alice.smith@contoso.com';
const PHONE = '+14255550123';
const PARTICIPANT = 'Alice Smith (Contoso)';
const CALL_ID = '491f0b00-ffff-4bd5-a2d6-1bb6c1b4e1e0';

const str = (key: string, value: string) => ({ key, value: { stringValue: value } });

/** One span over OTLP/HTTP JSON, the way any instrumented sender might (mis)label it. */
async function sendSpan(traceId: string): Promise<void> {
  const now = BigInt(Date.now()) * 1_000_000n;
  const body = {
    resourceSpans: [
      {
        resource: { attributes: [str('service.name', 'cr-e2e-redaction')] },
        scopeSpans: [
          {
            scope: { name: 'e2e' },
            spans: [
              {
                traceId,
                spanId: randomBytes(8).toString('hex'),
                name: 'POST /api/calling',
                kind: 2,
                startTimeUnixNano: String(now - 5_000_000n),
                endTimeUnixNano: String(now),
                attributes: [
                  str('cr.call.id', CALL_ID),
                  str('http.request.header.authorization', `Bearer ${JWT}`),
                  str('user.email', EMAIL),
                  str('enduser.id', EMAIL),
                  str('cr.participant.display_name', PARTICIPANT),
                  str('cr.participant.phone', PHONE),
                  // under keys nobody foresaw: masked by value
                  str('exception.message', `invite from ${EMAIL} at ${PHONE} refused`),
                  str('http.request.header.x-forwarded-token', `Bearer ${JWT}`),
                ],
              },
            ],
          },
        ],
      },
    ],
  };
  const res = await fetch(`${stack.otlpHttpUrl}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
}

describe('otel-collector.yaml in the real collector', () => {
  it('is valid, and a broken copy is not', async () => {
    const valid = validateCollectorConfig(tools);
    expect(valid.output).toBe('');
    expect(valid.ok).toBe(true);
    const dir = await mkdtemp(join(tmpdir(), 'cr-otelcol-'));
    try {
      const broken = join(dir, 'broken.yaml');
      const text = await readFile(COLLECTOR_CONFIG, 'utf8');
      await writeFile(broken, text.replace('allow_all_keys:', 'allow_all_keyz:'));
      const run = spawnSync(tools.otelcol, ['validate', `--config=${broken}`], {
        encoding: 'utf8',
      });
      expect(run.status).not.toBe(0);
      expect(run.stderr).toContain('allow_all_keyz');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('stores spans in Jaeger with tokens, e-mails, phone numbers and participants removed', async () => {
    const traceId = randomBytes(16).toString('hex');
    await sendSpan(traceId);
    const trace = await eventually(
      () => getTrace(stack.jaegerUrl, traceId).catch(() => undefined),
      15_000,
      'the span in Jaeger',
    );
    const stored = JSON.stringify(trace);
    for (const secret of [JWT, JWT.split('.')[1]!, EMAIL, 'alice.smith', PHONE, '4255550123'])
      expect(stored).not.toContain(secret);
    expect(stored).not.toContain('Alice Smith');
    const [span] = trace.spans;
    const keys = span!.tags.map((t) => t.key);
    for (const deleted of [
      'http.request.header.authorization',
      'user.email',
      'enduser.id',
      'cr.participant.display_name',
      'cr.participant.phone',
    ])
      expect(keys).not.toContain(deleted);
    // kept, masked by value
    expect(tagOf(span!, 'exception.message')).toBe('invite from **** at **** refused');
    expect(tagOf(span!, 'http.request.header.x-forwarded-token')).toBe('Bearer ****');
    expect(tagOf(span!, 'redaction.masked.count')).toBeGreaterThan(0);
    // ids are not personal data and stay searchable
    expect(tagOf(span!, 'cr.call.id')).toBe(CALL_ID);
  });

  it('sends metrics on through its Prometheus exporter', async () => {
    const now = String(BigInt(Date.now()) * 1_000_000n);
    const body = {
      resourceMetrics: [
        {
          resource: { attributes: [str('service.name', 'cr-orchestrator-workers')] },
          scopeMetrics: [
            {
              scope: { name: 'e2e' },
              metrics: [
                {
                  name: 'cr.invites',
                  sum: {
                    aggregationTemporality: 2,
                    isMonotonic: true,
                    dataPoints: [
                      {
                        asInt: '3',
                        startTimeUnixNano: now,
                        timeUnixNano: now,
                        attributes: [str('outcome', 'answered')],
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    const res = await fetch(`${stack.otlpHttpUrl}/v1/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    const text = await eventually(
      async () => {
        const scrape = await fetch(stack.metricsUrl).catch(() => undefined);
        const t = await scrape?.text();
        return t?.includes('cr_invites') ? t : undefined;
      },
      10_000,
      'cr_invites on the collector’s /metrics',
    );
    expect(text).toMatch(/^cr_invites_total\{[^}]*outcome="answered"[^}]*\} 3$/m);
  });
});
