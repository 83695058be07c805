/**
 * A media process reads the calls of all its streaming sessions together, one round trip every
 * poll interval, not one per session: with a thousand streams, per-session polls were 5,000
 * Redis round trips a second. What each session learns is unchanged (the recording rule's tests
 * prove that); here, how it is read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MediaSessionStore } from '../../src/media/session-store.js';
import { PERSIST_POLL_MS } from '../../src/media/session.js';
import {
  audio,
  startHostileMedia,
  type HostileMedia,
  type Peer,
  streamingPeer,
} from '../helpers/hostile-media.js';

let media: HostileMedia;
/** Each batched read, by the number of calls in it; and the single reads (a session's HELLO). */
const batches: number[] = [];
let singles = 0;

beforeAll(async () => {
  media = await startHostileMedia('media-poll', {
    wrapStore: (store): MediaSessionStore => ({
      ...store,
      callState: (callId, since) => ((singles += 1), store.callState(callId, since)),
      callStates: (polls) => (batches.push(polls.length), store.callStates(polls)),
    }),
  });
});
afterAll(async () => {
  await media?.close();
});

describe('the poll of the streaming sessions', () => {
  it('reads every session in one batch per interval, and a session stops being polled when it ends', async () => {
    const peers: { peer: Peer; callId: string }[] = [];
    for (let i = 0; i < 6; i += 1) {
      const callId = `poll-${Date.now()}-${i}`;
      peers.push({ peer: await streamingPeer(media, callId), callId });
    }
    // each HELLO reads its call once, on its own
    expect(singles).toBe(6);
    batches.length = 0;
    await new Promise((r) => setTimeout(r, PERSIST_POLL_MS * 5 + 50));
    // about five polls, each of all six sessions (not thirty reads of one)
    expect(batches.length).toBeGreaterThanOrEqual(4);
    expect(batches.length).toBeLessThanOrEqual(6);
    expect(batches.every((n) => n === 6)).toBe(true);
    expect(singles).toBe(6);

    const [first] = peers;
    first!.peer.send({ type: 'end', reason: 'done' });
    await media.told(first!.callId, 'MEDIA.ENDED');
    batches.length = 0;
    await new Promise((r) => setTimeout(r, PERSIST_POLL_MS * 2 + 50));
    expect(batches.length).toBeGreaterThanOrEqual(1);
    expect(batches.every((n) => n === 5)).toBe(true);
    for (const { peer } of peers) peer.destroy();
  });

  it('reads in a batch what one read of each call reads', async () => {
    const known = `poll-known-${Date.now()}`;
    await media.persist(known, 2);
    const polls = [
      { callId: known, sinceVersion: 0 },
      { callId: known, sinceVersion: 1 },
      { callId: `poll-unknown-${Date.now()}`, sinceVersion: 0 },
    ];
    const one = await Promise.all(
      polls.map((p) => media.store.callState(p.callId, p.sinceVersion)),
    );
    expect(await media.store.callStates(polls)).toEqual(one);
    const speaker = (participantId: string) => ({ participantId, kind: 'user', identities: [] });
    expect(one.map((s) => s.speakers)).toEqual([
      { version: 1, sources: { '1': speaker('p1'), '2': speaker('p2') } },
      'unchanged',
      undefined,
    ]);
    expect(one[0]!.persist).toEqual({ allowed: true, stopGen: undefined });
    expect(await media.store.callStates([])).toEqual([]);
  });

  it('takes a failed batch as a failed read: the session stops writing until the next poll', async () => {
    const failing = await startHostileMedia('media-poll-fail', {
      wrapStore: (store): MediaSessionStore => ({
        ...store,
        callStates: (polls) => Promise.resolve(polls.map(() => undefined)),
      }),
    });
    try {
      const callId = `poll-fail-${Date.now()}`;
      const peer = await streamingPeer(failing, callId);
      await new Promise((r) => setTimeout(r, PERSIST_POLL_MS * 2));
      // frames sent now are not written: the last read said nothing may be
      const start = Date.now();
      for (let t = 0; t < 10; t += 1) peer.send(audio(start + t * 20, 0, Buffer.alloc(640, 7)));
      peer.send({ type: 'end', reason: 'done' });
      await failing.told(callId, 'MEDIA.ENDED');
      expect(await failing.segments(callId)).toEqual([]);
      peer.destroy();
    } finally {
      await failing.close();
    }
  });
});
