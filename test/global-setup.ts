/**
 * Runs once before the test workers fork: makes sure a Redis is reachable (reusing
 * REDIS_URL / 127.0.0.1:6379, else starting a private redis-server) and creates the test
 * certificate that the simulator's HTTPS server uses. Workers inherit the environment, so
 * NODE_EXTRA_CA_CERTS makes them trust the simulator (fetch, msal-node and https alike). Bundles
 * the role processes tests spawn (./helpers/role-bundles.ts).
 */
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDevCerts } from '../src/dev/certs.js';
import { ensureRedis, type LocalRedis } from '../src/dev/local-redis.js';
import { buildRoleBundles, removeRoleBundles } from './helpers/role-bundles.js';

let redis: LocalRedis | undefined;
let bundles: string | undefined;

export async function setup(): Promise<void> {
  const dir = join(tmpdir(), 'cr-test-certs');
  const certs = await ensureDevCerts(dir, 'test', 'rsa');
  const media = await ensureDevCerts(dir, 'media', 'ec'); // the media endpoint's ECDSA cert
  const bundle = join(dir, 'trusted-bundle.pem');
  await writeFile(bundle, `${certs.cert}\n${media.cert}\n`);
  process.env.NODE_EXTRA_CA_CERTS = bundle;
  process.env.TEST_CERT_FILE = certs.certFile;
  process.env.TEST_KEY_FILE = certs.keyFile;
  process.env.TEST_MEDIA_CERT_FILE = media.certFile;
  process.env.TEST_MEDIA_KEY_FILE = media.keyFile;
  redis = await ensureRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  process.env.TEST_REDIS_URL = redis.url;
  bundles = await buildRoleBundles();
  process.env.TEST_ROLE_BUNDLES = bundles;
}

export async function teardown(): Promise<void> {
  await redis?.stop();
  await removeRoleBundles(bundles);
}
