/**
 * A careless operator's configuration: refused at start with exit 2 and the variable named,
 * never restarted in a loop by the launcher, and never echoing a secret or a URL password.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, checkConfigFiles, loadConfig, redactUrl } from '../../src/config.js';
import { createCore } from '../../src/roles/core.js';
import { pino } from 'pino';
import { killAll, startRoleProcess } from '../helpers/role-process.js';
import { testRedisUrl } from '../helpers/redis.js';

const required = { BOT_APP_ID: 'app', BOT_APP_SECRET: 'a-bot-secret-value' };
const children: ChildProcess[] = [];
afterAll(async () => {
  await killAll(children);
});

function configError(env: Record<string, string>): string {
  try {
    loadConfig({ ...required, ...env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe('configuration errors name the variable and never print a secret', () => {
  it('HOST and MEDIA_HOST must be addresses or host names', () => {
    for (const host of ['999.1.1.1', '1.2.3', 'bad host', '-x.example', 'a..b']) {
      expect(configError({ HOST: host })).toMatch(/HOST: must be an IP address or a host name/);
    }
    expect(configError({ MEDIA_HOST: '300.0.0.1' })).toMatch(/MEDIA_HOST/);
    for (const host of ['0.0.0.0', '::', '127.0.0.1', 'localhost', 'media-0.cr.svc', '::1']) {
      expect(loadConfig({ ...required, HOST: host }).host).toBe(host);
    }
  });

  it('ADMIN_TOKEN outside the bearer-token alphabet is refused, and not echoed', () => {
    for (const token of ['has a space in it!!', 'quote"in-the-token-x', 'comma,token,abcdefgh']) {
      const message = configError({ ADMIN_TOKEN: token });
      expect(message).toMatch(/ADMIN_TOKEN: must use only/);
      expect(message).not.toContain(token);
    }
    const short = configError({ ADMIN_TOKEN: 'shortsecret' });
    expect(short).toMatch(/ADMIN_TOKEN: must be at least 16 characters/);
    expect(short).not.toContain('shortsecret');
    expect(loadConfig({ ...required, ADMIN_TOKEN: 'abcDEF0123-._~+/xyz==' }).adminToken).toBe(
      'abcDEF0123-._~+/xyz==',
    );
  });

  it('MEDIA_CREDENTIAL_SECRET and the password of REDIS_URL are not echoed', () => {
    const media = configError({ MEDIA_CREDENTIAL_SECRET: 'too-short-media-secret' });
    expect(media).toMatch(/MEDIA_CREDENTIAL_SECRET: must be at least 32 characters/);
    expect(media).not.toContain('too-short-media-secret');
    const redis = configError({ REDIS_URL: 'redis://user:hunter2-password@host:6379,http://x' });
    expect(redis).toMatch(/REDIS_URL/);
    expect(redis).not.toContain('hunter2-password');
    expect(redis).toContain('redis://user:***@host:6379');
    expect(redactUrl('rediss://:pw-only@h:1,redis://h2:2')).toBe('rediss://:***@h:1,redis://h2:2');
  });

  it('"Redis … not ready" does not show the URL password', async () => {
    const config = loadConfig({
      ...required,
      REDIS_URL: 'redis://:the-redis-password@127.0.0.1:1',
      REDIS_KEY_PREFIX: 'never-used',
    });
    const core = createCore(config, pino({ level: 'silent' }));
    try {
      const error = await core.ready(300).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error?.message).toMatch(/not ready/);
      expect(error?.message).not.toContain('the-redis-password');
    } finally {
      await core.close().catch(() => undefined);
    }
  });

  it('files the configuration names must exist: checked before anything starts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cr-config-'));
    try {
      const missing = join(dir, 'missing.pem');
      expect(() =>
        checkConfigFiles({
          policyFile: join(dir, 'p.yaml'),
          mediaTlsCertFile: undefined,
          mediaTlsKeyFile: undefined,
        }),
      ).toThrow(/POLICY_FILE: cannot read .*ENOENT/);
      expect(() =>
        checkConfigFiles({
          policyFile: undefined,
          mediaTlsCertFile: dir,
          mediaTlsKeyFile: missing,
        }),
      ).toThrow(/MEDIA_TLS_CERT_FILE: .* is not a file[\s\S]*MEDIA_TLS_KEY_FILE: cannot read/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('processes refuse a bad configuration with exit 2', () => {
  const base = {
    ...required,
    REDIS_URL: testRedisUrl(),
    REDIS_KEY_PREFIX: 'hostile-config-never',
    PORT: '0',
    OTEL_SDK_DISABLED: 'true',
  };

  it.each([
    [
      'ingress',
      'src/roles/ingress/main.ts',
      { POLICY_FILE: '/nonexistent/policy.yaml' },
      /POLICY_FILE/,
    ],
    ['ingress', 'src/roles/ingress/main.ts', { HOST: '999.1.1.1' }, /HOST/],
    ['workers', 'workers/main.ts', { POLICY_FILE: '/nonexistent/policy.yaml' }, /POLICY_FILE/],
    [
      'media',
      'src/roles/media/main.ts',
      { MEDIA_TLS_CERT_FILE: '/nonexistent/c.pem', MEDIA_TLS_KEY_FILE: '/nonexistent/k.pem' },
      /MEDIA_TLS_CERT_FILE/,
    ],
  ])('%s (%s) with %j exits 2 naming it', async (_role, file, env, named) => {
    const p = startRoleProcess(file, { ...base, ...env }, children, { capture: true });
    expect(await p.exit).toBe(2);
    expect(p.output()).toMatch(named);
  });

  it('the launcher stops at once when a key file is missing, instead of restarting', async () => {
    const started = Date.now();
    const p = startRoleProcess(
      'src/process/launcher.ts',
      {
        ...base,
        ADMIN_TOKEN: 'launcher-test-admin-token',
        MEDIA_TLS_CERT_FILE: process.env.TEST_MEDIA_CERT_FILE!,
        MEDIA_TLS_KEY_FILE: '/nonexistent/media-key.pem',
      },
      children,
      { capture: true },
    );
    expect(await p.exit).toBe(2);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(p.output()).toMatch(/MEDIA_TLS_KEY_FILE: cannot read/);
    expect(p.output()).not.toMatch(/restarting/);
    expect(p.output()).not.toContain('launcher-test-admin-token');
  });
});
