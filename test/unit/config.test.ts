import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, telemetrySettings } from '../../src/config.js';

const required = { BOT_APP_ID: 'app', BOT_APP_SECRET: 'secret' };

describe('config', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig(required);
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(c.port).toBe(3978);
    expect(c.teamsTokenIssuers).toEqual([
      'https://api.botframework.com',
      'https://graph.microsoft.com',
    ]);
    expect(c.answerDeadlineMs).toBe(5000);
    expect(c.packSnapshots).toBe(true);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('packs stored rosters unless PACK_SNAPSHOTS=false (a rolling upgrade), and names a bad value', () => {
    expect(loadConfig({ ...required, PACK_SNAPSHOTS: 'false' }).packSnapshots).toBe(false);
    expect(() => loadConfig({ ...required, PACK_SNAPSHOTS: 'no' })).toThrow(/PACK_SNAPSHOTS/);
  });

  it('names every bad variable', () => {
    let message = '';
    try {
      loadConfig({
        BOT_APP_ID: 'app',
        PORT: '80a',
        GRAPH_BASE_URL: 'http://graph',
        MEDIA_TLS_CERT_FILE: 'x',
      });
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      message = (e as Error).message;
    }
    expect(message).toMatch(/BOT_APP_SECRET is required/);
    expect(message).toMatch(/PORT: must be a whole number/);
    expect(message).toMatch(/GRAPH_BASE_URL/);
  });

  it('takes one Redis URL, or with REDIS_CLUSTER=true comma-separated seed nodes', () => {
    expect(loadConfig(required).redisCluster).toBe(false);
    const seeds = 'redis://10.0.0.1:7000, redis://10.0.0.2:7001';
    const c = loadConfig({ ...required, REDIS_URL: seeds, REDIS_CLUSTER: 'true' });
    expect(c).toMatchObject({ redisUrl: seeds, redisCluster: true });
    expect(() => loadConfig({ ...required, REDIS_URL: seeds })).toThrow(/REDIS_CLUSTER=true/);
    expect(() =>
      loadConfig({ ...required, REDIS_URL: 'redis://a:1,http://b:2', REDIS_CLUSTER: 'true' }),
    ).toThrow(/REDIS_URL: must be one or more comma-separated URLs/);
    expect(() => loadConfig({ ...required, REDIS_CLUSTER: 'yes' })).toThrow(/REDIS_CLUSTER/);
  });

  it('requires the media certificate and key together', () => {
    expect(() => loadConfig({ ...required, MEDIA_TLS_CERT_FILE: 'c.pem' })).toThrow(
      /MEDIA_TLS_KEY_FILE/,
    );
  });
});

describe('shutdown settings', () => {
  it('take SHUTDOWN_DELAY_MS as a part of SHUTDOWN_GRACE_MS, leaving at least 1 s after it', () => {
    expect(loadConfig(required)).toMatchObject({ shutdownGraceMs: 20_000, shutdownDelayMs: 0 });
    const c = loadConfig({ ...required, SHUTDOWN_GRACE_MS: '40000', SHUTDOWN_DELAY_MS: '39000' });
    expect(c).toMatchObject({ shutdownGraceMs: 40_000, shutdownDelayMs: 39_000 });
    // the default grace cannot hold the longest delay
    expect(() => loadConfig({ ...required, SHUTDOWN_DELAY_MS: '120000' })).toThrow(ConfigError);
    expect(() =>
      loadConfig({ ...required, SHUTDOWN_GRACE_MS: '5000', SHUTDOWN_DELAY_MS: '4001' }),
    ).toThrow(/SHUTDOWN_DELAY_MS \(4001\) must be at least 1000 ms less than SHUTDOWN_GRACE_MS/);
    expect(() => loadConfig({ ...required, SHUTDOWN_GRACE_MS: '500' })).toThrow(
      /SHUTDOWN_GRACE_MS/,
    );
  });
});

describe('telemetrySettings', () => {
  it('is off unless an OTLP endpoint or a traces exporter is configured, and not disabled', () => {
    expect(telemetrySettings({}).enabled).toBe(false);
    expect(telemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).enabled).toBe(true);
    expect(
      telemetrySettings({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' }).enabled,
    ).toBe(true);
    expect(telemetrySettings({ OTEL_TRACES_EXPORTER: 'console' }).enabled).toBe(true);
    expect(
      telemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'TRUE' })
        .enabled,
    ).toBe(false);
    expect(
      telemetrySettings({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_TRACES_EXPORTER: 'none',
      }).enabled,
    ).toBe(false);
    expect(telemetrySettings({ OTEL_SERVICE_NAME: ' bank-a ' }).serviceName).toBe('bank-a');
  });

  it('serves Prometheus metrics only when PROMETHEUS_PORT is set, and names a bad port', () => {
    expect(telemetrySettings({}).prometheus).toBeUndefined();
    expect(telemetrySettings({ PROMETHEUS_PORT: '9464' }).prometheus).toEqual({
      host: '0.0.0.0',
      port: 9464,
    });
    expect(
      telemetrySettings({ PROMETHEUS_PORT: '9464', PROMETHEUS_HOST: '127.0.0.1' }).prometheus?.host,
    ).toBe('127.0.0.1');
    for (const bad of ['0', '65536', '94a', '-1'])
      expect(() => telemetrySettings({ PROMETHEUS_PORT: bad })).toThrow(/PROMETHEUS_PORT/);
  });

  it('keeps OTLP metrics unless OTEL_METRICS_EXPORTER says none', () => {
    const otlp = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' };
    expect(telemetrySettings(otlp).otlpMetrics).toBe(true);
    expect(telemetrySettings({ ...otlp, OTEL_METRICS_EXPORTER: 'none' }).otlpMetrics).toBe(false);
    expect(telemetrySettings({}).otlpMetrics).toBe(false);
  });
});
