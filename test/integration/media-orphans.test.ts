/**
 * Orphaned media sessions: the media process of a recorded call is killed (SIGKILL) and no peer
 * ever resumes its session. A surviving media process (here: the media role in the test process)
 * notices the dead owner, tells the call MEDIA.LOST, and after the reconnect window MEDIA.FAULT,
 * and finalizes the recording from disk. A peer that resumes inside the window wins instead.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mediaOpenKey } from '../../src/redis/keys.js';
import { freePort } from '../../src/dev/local-redis.js';
import { verifyRecording } from '../../src/media/recording/index.js';
import { startMediaRole, type MediaRole } from '../../src/roles/media/compose.js';
import { createMediaSessionStore } from '../../src/media/session-store.js';
import { killAll, listening, startMediaProcess } from '../helpers/role-process.js';
import { manifestOf, wavData } from '../helpers/recordings.js';
import { deleteByPrefix, plainRedis, uniquePrefix } from '../helpers/redis.js';
import { callReaches, eventually, startSystem, type System } from '../helpers/system.js';

const children: ChildProcess[] = [];
let system: System | undefined;
let survivor: MediaRole | undefined;

afterEach(async () => {
  await killAll(children.splice(0));
  await survivor?.close();
  survivor = undefined;
  await system?.close();
  system = undefined;
});

/**
 * A system whose media runs as a child process, a second media role in this process on its own
 * port (the survivor), and a call recording through the child.
 */
async function recordingOnChild(name: string, windowMs: number, sweepMs?: number) {
  const sys = (system = await startSystem({
    name,
    media: { inProcess: false },
    env: {
      MEDIA_RECONNECT_WINDOW_MS: String(windowMs),
      ...(sweepMs ? { MEDIA_ORPHAN_SWEEP_MS: String(sweepMs) } : {}),
    },
    sim: { media: { enabled: true, paceMs: 20 } },
  }));
  const child = startMediaProcess(sys.env, children);
  await listening(sys.config.mediaPort);
  const survivorPort = await freePort();
  survivor = await startMediaRole({ ...sys.config, mediaPort: survivorPort }, sys.core, sys.logger);
  const call = await sys.sim.placeCall({ kind: 'meeting' });
  await call.waitFor('established', 8000);
  await callReaches(sys, call.id, 'recording', 8000);
  const dir = join(sys.config.recordingsDir, call.id);
  await eventually(
    async () => {
      const entries = await manifestOf(dir).catch(() => []);
      return entries.some((e) => e.type === 'segment' && e.track === 'mixed') ? true : undefined;
    },
    15_000,
    'a sealed segment',
  );
  // nothing listens there: the peer's resumes fail until it stops (never comes back)
  call.media!.reconnectUri = `tls://localhost:${await freePort()}`;
  child.child.kill('SIGKILL');
  await child.exit;
  const store = createMediaSessionStore(sys.core.redis, sys.prefix);
  return { sys, call, dir, store, survivorPort };
}

async function mediaContext(sys: System, callId: string) {
  const call = await sys.core.runtime.getCall(callId);
  return call?.snapshot.context.media;
}

describe('a media process dies and no peer comes back', () => {
  it('a surviving media process tells the call and finalizes the recording', async () => {
    const windowMs = 1500;
    const { sys, call, dir, store } = await recordingOnChild('media-orphans', windowMs);
    const killedAt = Date.now();

    // owner key expires (≤ 1.5 s) + a pass (0.5 s) + the window (1.5 s) + a pass: a few seconds
    const manifest = await eventually(
      async () => {
        const entries = await manifestOf(dir).catch(() => undefined);
        return entries?.some((e) => e.type === 'finalized') ? entries : undefined;
      },
      windowMs + 6000,
      'the recording to be finalized by the survivor',
    );
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(windowMs);
    expect(call.media!.connects).toBe(1); // nobody resumed
    expect(manifest.filter((e) => e.type === 'open').length).toBe(2); // the child, the survivor

    const verified = await verifyRecording(dir);
    expect(verified.ok, verified.problems.join('; ')).toBe(true);
    expect(verified.finalized).toBe(true);
    expect(verified.gaps.map((g) => g.reason)).toContain('media lost beyond the reconnect window');
    expect((await wavData(join(dir, 'final', 'mixed.wav'))).length).toBeGreaterThan(0);

    // MEDIA.LOST (only applied while flowing) and then MEDIA.FAULT reached the call
    const media = await eventually(async () => {
      const m = await mediaContext(sys, call.id);
      return m?.lastFault ? m : undefined;
    });
    expect(media.lastFault).toBe('media lost beyond the reconnect window');
    expect(media.lost).toBeGreaterThanOrEqual(killedAt);
    expect(media.flowing).toBe(false);
    await callReaches(sys, call.id, 'recordingFailed');
    await eventually(() =>
      call.recordingStatusUpdates.some((u) => u.status === 'failed') ? true : undefined,
    );

    expect((await store.read(call.id))?.state).toBe('ended');
    expect(await sys.core.redis.zscore(mediaOpenKey(sys.prefix), call.id)).toBeNull();
    await call.hangUp();
  }, 60_000);

  it('a living media process whose peer never comes back lists the same gap and finalizes', async () => {
    const windowMs = 1000;
    const sys = (system = await startSystem({
      name: 'media-owner-window',
      media: { inProcess: true },
      env: { MEDIA_RECONNECT_WINDOW_MS: String(windowMs) },
      sim: { media: { enabled: true, paceMs: 20 } },
    }));
    const call = await sys.sim.placeCall({ kind: 'p2p' });
    await call.waitFor('established', 8000);
    await callReaches(sys, call.id, 'recording', 8000);
    const dir = join(sys.config.recordingsDir, call.id);
    await eventually(
      async () =>
        (await manifestOf(dir).catch(() => [])).some((e) => e.type === 'segment')
          ? true
          : undefined,
      15_000,
      'a sealed segment',
    );
    call.media!.reconnectUri = `tls://localhost:${await freePort()}`; // resumes go nowhere
    call.media!.dropSocket();
    await eventually(
      async () =>
        (await manifestOf(dir).catch(() => [])).some((e) => e.type === 'finalized')
          ? true
          : undefined,
      windowMs + 5000,
      'the owner to finalize after its window',
    );
    const verified = await verifyRecording(dir);
    expect(verified.ok, verified.problems.join('; ')).toBe(true);
    expect(verified.gaps.map((g) => g.reason)).toContain('media lost beyond the reconnect window');
    await callReaches(sys, call.id, 'recordingFailed');
    await call.hangUp();
  }, 60_000);

  it('a peer that resumes after the sweeper marked the session lost wins', async () => {
    // the survivor sweeps every 0.5 s and takes a missing owner key (PX 1.5 s) for a death; the
    // window leaves the peer (retrying every ≤ 1 s) time to resume after that
    const windowMs = 5000;
    const { sys, call, dir, store, survivorPort } = await recordingOnChild(
      'media-race',
      windowMs,
      500,
    );

    const lost = await eventually(
      async () => {
        const s = await store.read(call.id);
        return s?.state === 'lost' ? s : undefined;
      },
      6000,
      'the sweeper to mark the session lost',
    );
    await eventually(async () => ((await mediaContext(sys, call.id))?.lost ? true : undefined));
    call.media!.reconnectUri = `tls://localhost:${survivorPort}`;
    await eventually(() => (call.media!.connects >= 2 ? true : undefined), 4000, 'the resume');
    const resumed = await store.read(call.id);
    expect(resumed).toMatchObject({ sessionId: lost.sessionId, state: 'streaming' });
    expect(resumed?.owner).toBe(survivor!.owner);
    expect(await sys.core.redis.zscore(mediaOpenKey(sys.prefix), call.id)).not.toBeNull();

    // past the window of the sweeper's lostAt: nothing ended or finalized the session
    await new Promise((r) =>
      setTimeout(r, Math.max(0, lost.lostAt! + windowMs + 1500 - Date.now())),
    );
    expect((await store.read(call.id))?.state).toBe('streaming');
    const entries = await manifestOf(dir);
    expect(entries.some((e) => e.type === 'finalized')).toBe(false);
    const media = await mediaContext(sys, call.id);
    expect(media?.lastFault).toBeUndefined();
    expect(media?.flowing).toBe(true);
    // the recording went on through the survivor
    const openedAt = entries.filter((e) => e.type === 'open').at(-1)!.at as number;
    expect(
      entries.some((e) => e.type === 'segment' && (e.startTimestamp as number) > openedAt),
    ).toBe(true);

    await call.hangUp();
    await eventually(
      async () => ((await manifestOf(dir)).some((e) => e.type === 'finalized') ? true : undefined),
      10_000,
      'the survivor to finalize at the end of the call',
    );
    expect((await verifyRecording(dir)).ok).toBe(true);
    // the call never stopped recording as far as Teams knows
    expect(call.recordingStatusUpdates.filter((u) => u.status === 'failed')).toEqual([]);
  }, 60_000);
});

/** A resume at `now`, inside a reconnect window of 10 s. */
const window = (now: number) => ({ now, windowMs: 10_000 });

describe('the compare-and-set of the registry', () => {
  it('a resume makes the sweeper’s mark-lost and end fail', async () => {
    const redis = plainRedis();
    const prefix = uniquePrefix('media-cas');
    try {
      const store = createMediaSessionStore(redis, prefix);
      await store.start('c1', 's1', 'dead');
      const seen = (await store.read('c1'))!;
      expect(await redis.zscore(mediaOpenKey(prefix), 'c1')).not.toBeNull();
      expect(await store.resume('c1', 's1', 'alive', window(1000))).toBe('ok');
      expect(await store.markLostIfOwned('c1', seen.sessionId, seen.owner, 1000)).toBe(false);
      expect((await store.read('c1'))?.state).toBe('streaming');

      expect(await store.markLostIfOwned('c1', 's1', 'alive', 2000)).toBe(true);
      expect(await store.resume('c1', 's1', 'other', window(2000))).toBe('ok');
      expect(await store.endIfStillLost('c1', 's1', 2000)).toBe(false);
      expect(await store.read('c1')).toMatchObject({ state: 'streaming', owner: 'other' });

      await store.markEnded('c1', 's1');
      expect(await redis.zscore(mediaOpenKey(prefix), 'c1')).toBeNull();
    } finally {
      await deleteByPrefix(redis, prefix);
      await redis.quit();
    }
  });
});
