/**
 * A Teams key endpoint whose certificate nobody trusts: the ingress says so on `/readyz` (not
 * ready, with the reason), answers notifications 503 (Teams retries) and logs the cause once,
 * not once per refused notification.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevCerts } from '../../src/dev/certs.js';
import { startSystem, type System } from '../helpers/system.js';
import { ISSUER, claims, sign, startKeyServer, type KeyServer } from '../helpers/key-server.js';

const lines: Array<{ level: number; msg: string; reason?: string }> = [];
let keys: KeyServer;
let system: System;
let certDir: string;

beforeAll(async () => {
  certDir = await mkdtemp(join(tmpdir(), 'cr-untrusted-'));
  const { cert, key } = await ensureDevCerts(certDir, 'untrusted', 'rsa');
  keys = await startKeyServer({ cert, key });
  system = await startSystem({
    name: 'hostile-keys',
    env: { TEAMS_OPENID_CONFIG_URL: keys.openIdConfigUrl, TEAMS_TOKEN_ISSUERS: ISSUER },
    logger: pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(JSON.parse(chunk.toString()) as (typeof lines)[number]);
          done();
        },
      }),
    ),
  });
});
afterAll(async () => {
  await system?.close();
  await keys?.close();
  await rm(certDir, { recursive: true, force: true });
});

describe('an untrusted Teams key endpoint', () => {
  it('makes /readyz not ready with the reason, notifications 503, and one log line', async () => {
    const ready = await fetch(`${system.ingress.url}/readyz`);
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as { checks: Record<string, unknown> };
    expect(body.checks).toMatchObject({ redis: true });
    expect(body.checks.teamsKeys).toMatch(/fetch failed \((?:SELF_SIGNED|DEPTH_ZERO|UNABLE)/);
    const token = await sign(keys.current, claims(system.sim.defaultTenantId));
    for (let i = 0; i < 10; i += 1) {
      const res = await fetch(`${system.ingress.url}/api/calling`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(system.sim.inviteBody({ kind: 'p2p', callId: `untrusted-${i}` })),
      });
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ error: { code: 'keys_unavailable' } });
    }
    await fetch(`${system.ingress.url}/readyz`);
    const logged = lines.filter((l) => l.msg === 'Teams signing keys unavailable');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 50, reason: body.checks.teamsKeys });
    expect(keys.hits.openid).toBeLessThanOrEqual(2);
  });
});
