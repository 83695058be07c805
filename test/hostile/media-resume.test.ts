/**
 * Hostile resumes (docs/media-protocol.md, "Limits and hostile peers"): a resume token takes
 * over a session only once it was lost, and only within its reconnect window; a second
 * connection never takes a session from a live one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame } from '@cr-orchestrator/media-protocol';
import { ATTR, METRIC } from '../../src/telemetry/index.js';
import {
  audio,
  credentialFor,
  Peer,
  startHostileMedia,
  type HostileMedia,
} from '../helpers/hostile-media.js';

const WINDOW_MS = 1500;
let media: HostileMedia;

beforeAll(async () => {
  media = await startHostileMedia('hostile-resume', {
    settings: { reconnectWindowMs: WINDOW_MS },
  });
});
afterAll(async () => {
  await media?.close();
});

let calls = 0;
async function streaming(server = media) {
  const callId = `resume-${Date.now()}-${(calls += 1)}`;
  await server.persist(callId);
  const { peer, answer } = await Peer.hello(server.port, {
    callId,
    credential: credentialFor(server, callId),
  });
  await server.told(callId, 'MEDIA.CONNECTED');
  const welcome = answer as Extract<Frame, { type: 'welcome' }>;
  expect(welcome.type).toBe('welcome');
  return { peer, callId, welcome };
}

describe('resume tokens', () => {
  it('are refused while their session still streams, which goes on untouched', async () => {
    const { peer, callId, welcome } = await streaming();
    const start = Date.now();
    peer.send(audio(start), audio(start + 20));
    const thief = await Peer.hello(media.port, { callId, resume: welcome.resume });
    expect(thief.answer).toEqual({ type: 'refuse', reason: 'live' });
    await thief.peer.closed;
    // the live session was not disturbed: it still takes frames and ends normally
    peer.send(audio(start + 40), { type: 'end', reason: 'done' });
    await media.told(callId, 'MEDIA.ENDED');
    expect(peer.received.filter((f) => f.type === 'end')).toEqual([]);
    expect(media.events.get(callId)?.map((e) => e.type)).toEqual([
      'MEDIA.CONNECTED',
      'MEDIA.FLOWING',
      'MEDIA.ENDED',
    ]);
  });

  it('take over a lost session within its window', async () => {
    const { peer, callId, welcome } = await streaming();
    peer.destroy();
    await media.told(callId, 'MEDIA.LOST');
    const resumed = () =>
      media.metrics.value(METRIC.mediaSessions, { [ATTR.handshakeOutcome]: 'resumed' });
    const before = await resumed();
    const again = await Peer.hello(media.port, { callId, resume: welcome.resume });
    expect(again.answer).toMatchObject({ type: 'welcome', sessionId: welcome.sessionId });
    expect(await resumed()).toBe(before + 1);
    again.peer.send({ type: 'end', reason: 'done' });
    await media.told(callId, 'MEDIA.ENDED');
  });

  it('are refused once the window has passed, even where no process ended the session yet', async () => {
    const { peer, callId, welcome } = await streaming();
    peer.destroy();
    await media.told(callId, 'MEDIA.LOST');
    // the process that lost it died before its window ran out: the loss is older than the window
    await media.store.markLost(callId, welcome.sessionId, Date.now() - WINDOW_MS - 1000);
    const late = await Peer.hello(media.port, { callId, resume: welcome.resume });
    expect(late.answer).toEqual({ type: 'refuse', reason: 'expired' });
    expect(
      await media.metrics.value(METRIC.mediaRefused, { [ATTR.refusal]: 'expired' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('are refused once the window ended the session', async () => {
    const { peer, callId, welcome } = await streaming();
    peer.destroy();
    await media.told(callId, 'MEDIA.FAULT');
    const late = await Peer.hello(media.port, { callId, resume: welcome.resume });
    expect(late.answer).toEqual({ type: 'refuse', reason: 'ended' });
  });
});

describe('a media process closing', () => {
  // the peer left and the server saw it; left a moment ago; or still streaming (drained)
  it.each([
    ['a loss the server saw just before', 'gone'],
    ['a loss still on its way to the server', 'leaving'],
    ['a stream it drains itself', 'streaming'],
  ] as const)(
    'records %s before close() returns, and leaves no reconnect window running after it',
    async (_what, peerState) => {
      const window = 300;
      const closing = await startHostileMedia('hostile-resume-close', {
        settings: { reconnectWindowMs: window },
      });
      try {
        const { peer, callId } = await streaming(closing);
        if (peerState !== 'streaming') peer.destroy();
        if (peerState === 'gone') await peer.closed;
        await closing.server.close();
        // the loss was reported before close() returned, not by a teardown still running after
        expect(closing.events.get(callId)?.map((e) => e.type)).toContain('MEDIA.LOST');
        await new Promise((resolve) => setTimeout(resolve, window * 3));
        // no window of the closed process ended the session (that is the orphan sweeper's job)
        expect(closing.events.get(callId)?.map((e) => e.type)).not.toContain('MEDIA.FAULT');
      } finally {
        await closing.close();
      }
    },
  );
});
