/**
 * Checks otel-collector.yaml the way the collector would before starting (every component a
 * pipeline names is defined, processors in a sane order), and checks that its redaction really
 * strips personal data: the configured regexes are run against sample values here (JS and Go
 * RE2 agree on the subset they are restricted to, see `re2Problems`).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { ATTR } from '../../src/telemetry/attributes.js';

const CONFIG_URL = new URL('../../otel-collector.yaml', import.meta.url);

const ids = z.array(z.string().min(1));
const Pipeline = z.object({ receivers: ids, processors: ids, exporters: ids });
const Section = z.record(z.string(), z.unknown());
const CollectorConfig = z.object({
  receivers: Section,
  processors: Section,
  exporters: Section,
  service: z.object({ pipelines: z.record(z.string(), Pipeline) }),
});
type CollectorConfig = z.infer<typeof CollectorConfig>;
type Pipeline = z.infer<typeof Pipeline>;

const OtlpReceiver = z.object({
  protocols: z.object({
    grpc: z.object({ endpoint: z.string() }),
    http: z.object({ endpoint: z.string() }),
  }),
});
const AttributesProcessor = z.object({
  actions: z.array(
    z.object({ action: z.string(), key: z.string().optional(), pattern: z.string().optional() }),
  ),
});
const RedactionProcessor = z.object({
  allow_all_keys: z.boolean().optional(),
  allowed_keys: z.array(z.string()).optional(),
  blocked_values: z.array(z.string()).default([]),
  summary: z.string().optional(),
});
const OtlpExporter = z.object({ endpoint: z.string() });

const KINDS = ['receivers', 'processors', 'exporters'] as const;
const SIGNALS = ['traces', 'metrics', 'logs'];
/** Exporter types that speak OTLP (`otlp_grpc`/`otlp_http` are the 0.144+ names). */
const OTLP_EXPORTERS = ['otlp', 'otlp_grpc', 'otlphttp', 'otlp_http'];

function loadConfig(): CollectorConfig {
  const raw: unknown = parse(readFileSync(CONFIG_URL, 'utf8'));
  return CollectorConfig.parse(raw);
}

/** `otlp_grpc/jaeger` → `otlp_grpc`: the part before the slash picks the component type. */
const typeOf = (id: string): string => id.split('/')[0] ?? id;

/** What the collector refuses at start-up: undefined or repeated components, bad pipeline ids. */
function referenceProblems(config: CollectorConfig): string[] {
  const problems: string[] = [];
  for (const [name, pipeline] of Object.entries(config.service.pipelines)) {
    if (!SIGNALS.includes(typeOf(name))) problems.push(`${name}: unknown signal`);
    if (pipeline.receivers.length === 0) problems.push(`${name}: no receiver`);
    if (pipeline.exporters.length === 0) problems.push(`${name}: no exporter`);
    for (const kind of KINDS) {
      const seen = new Set<string>();
      for (const id of pipeline[kind]) {
        if (!Object.hasOwn(config[kind], id)) problems.push(`${name}: ${kind} "${id}" not defined`);
        if (seen.has(id)) problems.push(`${name}: ${kind} "${id}" listed twice`);
        seen.add(id);
      }
    }
  }
  return problems;
}

function orderProblems(config: CollectorConfig): string[] {
  const problems: string[] = [];
  for (const [name, { processors }] of Object.entries(config.service.pipelines)) {
    if (typeOf(processors[0] ?? '') !== 'memory_limiter')
      problems.push(`${name}: memory_limiter is not first`);
    if (typeOf(processors.at(-1) ?? '') !== 'batch') problems.push(`${name}: batch is not last`);
  }
  return problems;
}

function tracesPipelines(config: CollectorConfig): [string, Pipeline][] {
  return Object.entries(config.service.pipelines).filter(([name]) => typeOf(name) === 'traces');
}

function processorsOfType(config: CollectorConfig, pipeline: Pipeline, type: string): unknown[] {
  return pipeline.processors.filter((id) => typeOf(id) === type).map((id) => config.processors[id]);
}

/** Whether the pipeline's attributes processors delete an attribute with this key. */
function deletes(config: CollectorConfig, pipeline: Pipeline, key: string): boolean {
  return processorsOfType(config, pipeline, 'attributes')
    .flatMap((p) => AttributesProcessor.parse(p).actions)
    .filter((a) => a.action === 'delete')
    .some((a) => a.key === key || (a.pattern !== undefined && new RegExp(a.pattern).test(key)));
}

function blockedValues(config: CollectorConfig, pipeline: Pipeline): string[] {
  return processorsOfType(config, pipeline, 'redaction').flatMap(
    (p) => RedactionProcessor.parse(p).blocked_values,
  );
}

/** The value as the redaction processor leaves it: every match of a blocked regex masked. */
function mask(config: CollectorConfig, pipeline: Pipeline, value: string): string {
  return blockedValues(config, pipeline).reduce(
    (v, source) => v.replace(new RegExp(source, 'g'), '****'),
    value,
  );
}

/**
 * Regex features JS accepts but Go's RE2 (the collector) rejects or reads differently, and `$`,
 * which the collector's `${...}` expansion may eat.
 */
function re2Problems(source: string): string[] {
  const problems: string[] = [];
  if (/\(\?<?[=!]/.test(source)) problems.push(`${source}: look-around`);
  if (/\\[1-9]|\\k</.test(source)) problems.push(`${source}: back-reference`);
  if (source.includes('$')) problems.push(`${source}: contains $`);
  return problems;
}

/** Every string scalar in the document (keys included). */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value !== null && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => [k, ...strings(v)]);
  return [];
}

/** The collector's `${env:NAME}` / `${env:NAME:-default}` expansion. */
function expandEnv(value: string, env: Record<string, string>): string {
  return value.replace(
    /\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
    (_m, name: string, fallback: string | undefined) => env[name] ?? fallback ?? '',
  );
}

const b64url = (json: object): string => Buffer.from(JSON.stringify(json)).toString('base64url');
const JWT = [
  b64url({ alg: 'RS256', typ: 'JWT', kid: 'k1' }),
  b64url({ aud: 'bot-app-id', iss: 'https://api.botframework.com', exp: 1_900_000_000 }),
  'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
].join('.');
const CALL_ID = '491f0b00-ffff-4bd5-a2d6-1bb6c1b4e1e0';

/** Values that carry personal data or secrets, and the part that must not survive masking. */
const SENSITIVE: [label: string, value: string, secret: string][] = [
  ['an e-mail address', 'alice.smith@contoso.com', 'alice.smith'],
  ['a UPN in a message', 'invite from bob+rec@contoso.onmicrosoft.com refused', 'bob+rec@contoso'],
  ['an E.164 phone number', '+14255550123', '4255550123'],
  ['an E.164 phone number in a message', 'PSTN caller +442079460958 joined', '2079460958'],
  ['a JWT', JWT, JWT.split('.')[1] ?? JWT],
  ['a bearer header value', `Bearer ${JWT}`, JWT.split('.')[2] ?? JWT],
];

/** Values our own spans carry, which masking must leave alone. */
const HARMLESS = [
  CALL_ID,
  'a2e1c6d4-1d8b-4f59-9d55-0b3a7cbe9f10', // tenant id
  '4bf92f3577b34da6a3ce929d0e0e4736', // trace id
  `${CALL_ID}-graph.answer-v3`, // job id
  `https://graph.microsoft.com/v1.0/communications/calls/${CALL_ID}/answer`,
  '2025-06-01T12:00:00.000+02:00',
  'answer-deadline-missed',
  'POST /api/calling',
  '5000',
];

describe('otel-collector.yaml', () => {
  const config = loadConfig();

  it('defines a traces and a metrics pipeline', () => {
    expect(Object.keys(config.service.pipelines).map(typeOf)).toEqual(
      expect.arrayContaining(['traces', 'metrics']),
    );
  });

  it('defines every component a pipeline names, under its exact id', () => {
    expect(referenceProblems(config)).toEqual([]);
  });

  it('runs memory_limiter first and batch last in every pipeline', () => {
    expect(orderProblems(config)).toEqual([]);
  });

  it('receives OTLP over gRPC on 4317 and HTTP on 4318, on all interfaces', () => {
    const otlp = Object.entries(config.receivers).filter(([id]) => typeOf(id) === 'otlp');
    expect(otlp).toHaveLength(1);
    const { protocols } = OtlpReceiver.parse(otlp[0]?.[1]);
    expect(protocols.grpc.endpoint).toBe('0.0.0.0:4317');
    expect(protocols.http.endpoint).toBe('0.0.0.0:4318');
    for (const pipeline of Object.values(config.service.pipelines))
      expect(pipeline.receivers.map(typeOf)).toContain('otlp');
  });

  it('exports traces over OTLP to an endpoint the collector can expand', () => {
    const traces = tracesPipelines(config);
    expect(traces.length).toBeGreaterThan(0);
    for (const [, pipeline] of traces) {
      const otlp = pipeline.exporters.filter((id) => OTLP_EXPORTERS.includes(typeOf(id)));
      expect(otlp.length).toBeGreaterThan(0);
      for (const id of otlp) {
        const { endpoint } = OtlpExporter.parse(config.exporters[id]);
        // shell-style ${NAME:-x} is not the collector's syntax: it must be ${env:NAME:-x}
        expect(expandEnv(endpoint, {})).not.toContain('$');
        expect(expandEnv(endpoint, {})).toMatch(/^[\w.-]+:\d+$/);
      }
    }
  });

  it('defaults the Jaeger endpoint to the jaeger container and lets the env override it', () => {
    const { endpoint } = OtlpExporter.parse(config.exporters['otlp_grpc/jaeger']);
    expect(expandEnv(endpoint, {})).toBe('jaeger:4317');
    expect(expandEnv(endpoint, { JAEGER_OTLP_ENDPOINT: 'tracing.internal:4317' })).toBe(
      'tracing.internal:4317',
    );
  });

  it('uses only ${env:...} substitutions', () => {
    const substitutions = strings(config).flatMap((s) => s.match(/\$\{[^}]*\}?/g) ?? []);
    expect(substitutions.length).toBeGreaterThan(0);
    for (const s of substitutions)
      expect(s).toMatch(/^\$\{env:[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}$/);
  });

  describe('traces redaction', () => {
    const traces = tracesPipelines(config);

    it.each([
      'http.request.header.authorization',
      'enduser.id',
      'user.id',
      'user.email',
      'user.name',
      'client.address',
      'url.query',
      'cr.participant.display_name',
      'cr.participant.aad_id',
    ])('deletes %s', (key) => {
      for (const [, pipeline] of traces) expect(deletes(config, pipeline, key)).toBe(true);
    });

    it('keeps every attribute the orchestrator itself sets', () => {
      for (const [, pipeline] of traces)
        for (const key of Object.values(ATTR)) expect(deletes(config, pipeline, key)).toBe(false);
    });

    it('keeps every key and summarises without naming what it masked', () => {
      for (const [, pipeline] of traces) {
        const redactions = processorsOfType(config, pipeline, 'redaction');
        expect(redactions.length).toBeGreaterThan(0);
        for (const p of redactions) {
          const r = RedactionProcessor.parse(p);
          // without allow_all_keys an empty allowed_keys drops every attribute
          expect(r.allow_all_keys).toBe(true);
          expect(r.summary).toBe('info');
        }
      }
    });

    it('blocks values with regexes the collector (Go RE2) reads as this test does', () => {
      for (const [, pipeline] of traces) {
        const sources = blockedValues(config, pipeline);
        expect(sources.length).toBeGreaterThanOrEqual(3);
        for (const source of sources) {
          expect(() => new RegExp(source)).not.toThrow();
          expect(re2Problems(source)).toEqual([]);
        }
      }
    });

    it.each(SENSITIVE)('masks %s', (_label, value, secret) => {
      for (const [, pipeline] of traces) {
        const masked = mask(config, pipeline, value);
        expect(masked).not.toBe(value);
        expect(masked).not.toContain(secret);
      }
    });

    it.each(HARMLESS)('leaves %s alone', (value) => {
      for (const [, pipeline] of traces) expect(mask(config, pipeline, value)).toBe(value);
    });
  });

  describe('the checks themselves', () => {
    const mutate = (change: (c: CollectorConfig) => void): CollectorConfig => {
      const copy = structuredClone(config);
      change(copy);
      return copy;
    };
    const traces = (c: CollectorConfig): Pipeline => {
      const pipeline = c.service.pipelines.traces;
      if (!pipeline) throw new Error('no traces pipeline');
      return pipeline;
    };

    it('catch a pipeline naming an undefined component, or only its type', () => {
      const missing = mutate((c) => traces(c).processors.splice(1, 0, 'attributes/missing'));
      expect(referenceProblems(missing)).toEqual([
        'traces: processors "attributes/missing" not defined',
      ]);
      const bare = mutate((c) => traces(c).exporters.push('otlp'));
      expect(referenceProblems(bare)).toEqual(['traces: exporters "otlp" not defined']);
    });

    it('catch batch running before the redaction', () => {
      const early = mutate((c) => traces(c).processors.reverse());
      expect(orderProblems(early)).toEqual([
        'traces: memory_limiter is not first',
        'traces: batch is not last',
      ]);
    });

    it('catch a traces pipeline without redaction', () => {
      const bare = mutate((c) => {
        traces(c).processors = ['memory_limiter', 'batch'];
      });
      expect(deletes(bare, traces(bare), 'http.request.header.authorization')).toBe(false);
      expect(mask(bare, traces(bare), 'alice@contoso.com')).toBe('alice@contoso.com');
    });
  });
});
