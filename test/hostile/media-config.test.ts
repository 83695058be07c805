/**
 * A careless media configuration stops the media process at start-up with exit code 2 and the
 * variable named (docs/media-protocol.md, "Limits and hostile peers"), instead of starting and
 * failing every handshake or every write: a certificate and key that do not belong together, a
 * recordings directory that is a file, or one it cannot write into.
 */
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { freePort } from '../../src/dev/local-redis.js';
import { killAll, startRoleProcess } from '../helpers/role-process.js';
import { deleteByPrefix, plainRedis, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { BOT_APP_ID, BOT_APP_SECRET } from '../helpers/system.js';

const children: ChildProcess[] = [];
/** Each media process's key prefix, deleted at the end (its queues leave their meta keys). */
const prefixes: string[] = [];
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cr-media-config-'));
});
afterAll(async () => {
  await killAll(children);
  await rm(dir, { recursive: true, force: true });
  const redis = plainRedis();
  for (const prefix of prefixes) await deleteByPrefix(redis, prefix);
  await redis.quit();
});

async function startMedia(env: Record<string, string>) {
  const prefix = uniquePrefix('media-config');
  prefixes.push(prefix);
  const role = startRoleProcess(
    'src/roles/media/main.ts',
    {
      BOT_APP_ID,
      BOT_APP_SECRET,
      REDIS_URL: testRedisUrl(),
      REDIS_KEY_PREFIX: prefix,
      MEDIA_HOST: '127.0.0.1',
      MEDIA_PORT: String(await freePort()),
      MEDIA_TLS_CERT_FILE: process.env.TEST_MEDIA_CERT_FILE!,
      MEDIA_TLS_KEY_FILE: process.env.TEST_MEDIA_KEY_FILE!,
      RECORDINGS_DIR: join(dir, 'recordings'),
      OTEL_SDK_DISABLED: 'true',
      ...env,
    },
    children,
    { capture: true },
  );
  return { code: await role.exit, output: role.output() };
}

describe('the media limits', () => {
  const required = { BOT_APP_ID: 'app', BOT_APP_SECRET: 'secret' };

  it('have defaults', () => {
    expect(loadConfig(required)).toMatchObject({
      mediaTlsTimeoutMs: 1000,
      mediaHandshakeTimeoutMs: 2000,
      mediaMaxConnections: 500,
      mediaMaxTimestampJumpMs: 60_000,
      mediaMaxUnmixedSources: 4,
      acceptedModalities: ['audio'],
    });
    expect(
      loadConfig({ ...required, ACCEPTED_MODALITIES: 'audio,video' }).acceptedModalities,
    ).toEqual(['audio', 'video']);
  });

  it('refuse values that would switch them off', () => {
    expect(() => loadConfig({ ...required, MEDIA_MAX_CONNECTIONS: '0' })).toThrow(
      /MEDIA_MAX_CONNECTIONS/,
    );
    expect(() => loadConfig({ ...required, MEDIA_MAX_TIMESTAMP_JUMP_MS: '99999999' })).toThrow(
      /MEDIA_MAX_TIMESTAMP_JUMP_MS/,
    );
    expect(() => loadConfig({ ...required, MEDIA_MAX_UNMIXED_SOURCES: '1000' })).toThrow(
      /MEDIA_MAX_UNMIXED_SOURCES/,
    );
    expect(() => loadConfig({ ...required, ACCEPTED_MODALITIES: 'video' })).toThrow(
      /ACCEPTED_MODALITIES/,
    );
  });
});

describe('media start-up refuses a careless configuration', () => {
  it('a certificate and a key that do not belong together', async () => {
    // the key of the ingress's test certificate, not the media one's
    const { code, output } = await startMedia({ MEDIA_TLS_KEY_FILE: process.env.TEST_KEY_FILE! });
    expect(code).toBe(2);
    expect(output).toMatch(/MEDIA_TLS_KEY_FILE: .* is not the key of the certificate/);
    expect(output).not.toMatch(/PRIVATE KEY/);
  });

  it('a recordings directory that is a file', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'not a directory');
    const { code, output } = await startMedia({ RECORDINGS_DIR: file });
    expect(code).toBe(2);
    expect(output).toContain(`RECORDINGS_DIR: ${file} is not a directory`);
  });

  it('a recordings directory it cannot write into', async () => {
    // root writes wherever a mode allows; a kernel file system stands in for it there
    let readOnly = '/sys';
    if (process.getuid?.() !== 0) {
      readOnly = join(dir, 'read-only');
      await mkdir(readOnly);
      await chmod(readOnly, 0o555);
    }
    const { code, output } = await startMedia({ RECORDINGS_DIR: readOnly });
    expect(code).toBe(2);
    expect(output).toContain(`RECORDINGS_DIR: ${readOnly} is not writable`);
  });
});
