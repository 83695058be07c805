/**
 * The roles as real processes: `npm start`'s launcher runs ingress + workers, becomes ready,
 * and exits 0 on SIGTERM; a bad configuration stops start-up with a message naming the variable.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/dev/local-redis.js';
import { deleteByPrefix, plainRedis, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { startRoleProcess } from '../helpers/role-process.js';
import { eventually } from '../helpers/system.js';
import { startKeyServer, type KeyServer } from '../helpers/key-server.js';

const prefix = uniquePrefix('procs');
const children: ChildProcess[] = [];
// readiness needs Teams' signing keys: a key endpoint of the test's own stands in for Teams
let keys: KeyServer | undefined;

const run = (file: string, env: Record<string, string>) =>
  startRoleProcess(file, env, children, { capture: true });

const baseEnv = (port: number) => ({
  BOT_APP_ID: 'app',
  BOT_APP_SECRET: 'secret',
  REDIS_URL: testRedisUrl(),
  REDIS_KEY_PREFIX: prefix,
  HOST: '127.0.0.1',
  PORT: String(port),
  LOG_LEVEL: 'warn',
});

afterAll(async () => {
  await keys?.close();
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  const redis = plainRedis();
  await deleteByPrefix(redis, prefix);
  await redis.quit();
});

describe('process roles', () => {
  it('npm start runs ingress, workers and media, is ready, and drains to exit 0 on SIGTERM', async () => {
    const port = await freePort();
    const mediaPort = await freePort();
    const recordings = await mkdtemp(join(tmpdir(), 'cr-launch-'));
    keys = await startKeyServer();
    const launcher = run('src/process/launcher.ts', {
      ...baseEnv(port),
      TEAMS_OPENID_CONFIG_URL: keys.openIdConfigUrl,
      MEDIA_TLS_CERT_FILE: process.env.TEST_MEDIA_CERT_FILE!,
      MEDIA_TLS_KEY_FILE: process.env.TEST_MEDIA_KEY_FILE!,
      MEDIA_HOST: '127.0.0.1',
      MEDIA_PORT: String(mediaPort),
      RECORDINGS_DIR: recordings,
    });
    const ready = await eventually(
      async () => {
        try {
          const res = await fetch(`http://127.0.0.1:${port}/readyz`);
          return res.status === 200
            ? ((await res.json()) as { checks: { workers: number } })
            : undefined;
        } catch {
          return undefined;
        }
      },
      20_000,
      'the launcher to become ready',
    );
    expect(ready.checks.workers).toBeGreaterThanOrEqual(1);
    const media = await eventually(
      () =>
        new Promise<string | undefined>((resolve) => {
          const s = tlsConnect({
            host: '127.0.0.1',
            port: mediaPort,
            servername: 'localhost',
            ALPNProtocols: ['cr-media/1'],
          });
          s.once('secureConnect', () => {
            resolve(s.getProtocol() ?? undefined);
            s.destroy();
          });
          s.once('error', () => resolve(undefined));
        }),
      20_000,
      'the media process to listen',
    );
    expect(media).toBe('TLSv1.3');
    launcher.child.kill('SIGTERM');
    expect(await launcher.exit).toBe(0);
    await rm(recordings, { recursive: true, force: true });
  }, 40_000);

  it('a bad variable stops the ingress with exit 2 and a message naming it', async () => {
    const ingress = run('src/roles/ingress/main.ts', { ...baseEnv(0), PORT: 'eighty' });
    expect(await ingress.exit).toBe(2);
    expect(ingress.output()).toMatch(/PORT: must be a whole number/);
  }, 20_000);

  it('the launcher does not restart a role that refuses its configuration', async () => {
    const launcher = run('src/process/launcher.ts', {
      ...baseEnv(0),
      GRAPH_BASE_URL: 'ftp://graph',
    });
    expect(await launcher.exit).toBe(2);
    expect(launcher.output()).toMatch(/GRAPH_BASE_URL/);
    expect(launcher.output()).not.toMatch(/restarting/);
  }, 20_000);
});
