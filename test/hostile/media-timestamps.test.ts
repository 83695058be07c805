/**
 * Hostile media timestamps (docs/media-protocol.md, "Limits and hostile peers"): a jump beyond
 * MEDIA_MAX_TIMESTAMP_JUMP_MS, forward or back, ends the session as a protocol error; it is
 * never filled with silence, and the process keeps serving other peers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AudioTimeline } from '../../src/media/recording/audio-timeline.js';
import { METRIC } from '../../src/telemetry/index.js';
import type { Peer } from '../helpers/hostile-media.js';
import {
  audio,
  startHostileMedia,
  type HostileMedia,
  streamingPeer,
} from '../helpers/hostile-media.js';
import { eventually } from '../helpers/system.js';

let media: HostileMedia;
const JUMP_MS = 5000;

beforeAll(async () => {
  media = await startHostileMedia('hostile-ts', { settings: { maxTimestampJumpMs: JUMP_MS } });
});
afterAll(async () => {
  await media?.close();
});

let calls = 0;
/** A streaming, persisting session whose peer already sent `frames` real-time frames. */
async function streaming(frames = 10): Promise<{ peer: Peer; callId: string; start: number }> {
  const callId = `ts-${Date.now()}-${(calls += 1)}`;
  const peer = await streamingPeer(media, callId); // persist was read: frames are written
  const start = Date.now();
  for (let i = 0; i < frames; i += 1) peer.send(audio(start + i * 20));
  return { peer, callId, start };
}

async function endsAsProtocolError(peer: Peer, callId: string): Promise<void> {
  const end = await peer.next((f) => f.type === 'end');
  expect(end).toEqual({ type: 'end', reason: 'protocol-error' });
  await peer.closed;
  await media.told(callId, 'MEDIA.LOST');
}

describe('hostile timestamps end the session, never a silence fill', () => {
  it('a +1 h jump in one frame', async () => {
    const { peer, callId, start } = await streaming();
    peer.send(audio(start + 3600_000));
    await endsAsProtocolError(peer, callId);
    // what came before the jump is on disk; an hour of silence (1,800 segments) is not
    const written = await eventually(async () => {
      const list = await media.segments(callId);
      return list.length > 0 ? list : undefined;
    });
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({ startTimestamp: start, endTimestamp: start + 200 });
  });

  it('2^53−1 after a real clock, while the process keeps serving others', async () => {
    const { peer, callId } = await streaming();
    const errors = await media.metrics.value(METRIC.mediaProtocolErrors);
    const before = performance.now();
    peer.send(audio(Number.MAX_SAFE_INTEGER));
    await endsAsProtocolError(peer, callId);
    expect(await media.metrics.value(METRIC.mediaProtocolErrors)).toBe(errors + 1);
    // the event loop was never blocked: another peer is welcomed at once
    const other = await streaming(1);
    expect(performance.now() - before).toBeLessThan(3000);
    other.peer.destroy();
  });

  it('a clock that starts again at 0 after a real one, or starts at 0 and then turns real', async () => {
    const { peer, callId } = await streaming();
    peer.send(audio(0), audio(20));
    await endsAsProtocolError(peer, callId);

    const zero = await streaming(0);
    zero.peer.send(audio(0), audio(20), audio(40), audio(Date.now()));
    await endsAsProtocolError(zero.peer, zero.callId);
  });

  it('but a pause of real time followed by its timestamps is media, not a jump', async () => {
    const { peer, callId, start } = await streaming();
    await new Promise((r) => setTimeout(r, 1500));
    // 1.5 s later in real time, 6 s later in media time: 4.5 s beyond real time < 5 s allowed
    for (let i = 0; i < 10; i += 1) peer.send(audio(start + 6000 + i * 20));
    await new Promise((r) => setTimeout(r, 300));
    peer.send({ type: 'end', reason: 'done' });
    await peer.closed;
    expect(peer.received.filter((f) => f.type === 'end')).toEqual([]);
    expect(media.events.get(callId)?.map((e) => e.type)).toContain('MEDIA.ENDED');
  });
});

describe('the silence fill itself', () => {
  it('fills an hour (the longest a bounded call leaves a quiet track) without holding the loop', () => {
    const timeline = new AudioTimeline('src-7', 100);
    timeline.push(0, null);
    const before = performance.now();
    const done = timeline.push(3600_000, null);
    const took = performance.now() - before;
    expect(Array.isArray(done) && done.length).toBe(1800); // sealed one at a time, awaited
    expect(took).toBeLessThan(50);
  });
});
