/**
 * Hostile sources, modalities and lengths (docs/media-protocol.md, "Limits and hostile peers"):
 * at most MEDIA_MAX_UNMIXED_SOURCES unmixed sources per 20 ms become tracks, video is written
 * only when the answer accepted it, and a frame whose length lies ends the session before
 * anything is buffered.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Modality } from '../../src/config.js';
import { HEADER_BYTES } from '@cr-orchestrator/media-protocol';
import { ATTR, METRIC } from '../../src/telemetry/index.js';
import type { Peer } from '../helpers/hostile-media.js';
import {
  audio,
  startHostileMedia,
  type HostileMedia,
  streamingPeer,
} from '../helpers/hostile-media.js';

let media: HostileMedia;

beforeAll(async () => {
  media = await startHostileMedia('hostile-src');
});
afterAll(async () => {
  await media?.close();
});

let calls = 0;
async function streaming(modalities: Modality[] = ['audio']) {
  const callId = `src-${Date.now()}-${(calls += 1)}`;
  const peer = await streamingPeer(media, callId, { modalities });
  return { peer, callId, start: Date.now() };
}

/** The tracks (audio and video) the call's manifest lists segments of. */
async function tracks(callId: string): Promise<string[]> {
  const segments = await media.segments(callId);
  return [...new Set(segments.map((e) => `${String(e.kind)}:${String(e.track)}`))].sort();
}

async function endAndFinalize(peer: Peer, callId: string): Promise<void> {
  peer.send({ type: 'end', reason: 'done' });
  await media.told(callId, 'MEDIA.ENDED');
}

const pcm = Buffer.alloc(640, 7);
const droppedFor = (reason: string) =>
  media.metrics.value(METRIC.framesDropped, { [ATTR.dropReason]: reason });

describe('unmixed sources', () => {
  it('takes four per 20 ms; the rest are counted and dropped, never new tracks', async () => {
    const { peer, callId, start } = await streaming();
    const dropped = await droppedFor('source-limit');
    for (let tick = 0; tick < 50; tick += 1) {
      const at = start + tick * 20;
      const frames = [audio(at)];
      for (let source = 1; source <= 10; source += 1) frames.push(audio(at, source, pcm));
      peer.send(...frames);
    }
    await endAndFinalize(peer, callId);
    expect(await tracks(callId)).toEqual([
      'audio:mixed',
      'audio:src-1',
      'audio:src-2',
      'audio:src-3',
      'audio:src-4',
    ]);
    expect(await droppedFor('source-limit')).toBe(dropped + 50 * 6);
    expect(existsSync(join(media.recordingsDir, callId, 'final', 'src-5.wav'))).toBe(false);
  });

  it('a new source id in every 20 ms still gets no more than four at a time', async () => {
    const { peer, callId, start } = await streaming();
    // a second 20 ms with a fifth source is fine (speakers change); five at once is not
    peer.send(audio(start, 1, pcm), audio(start, 2, pcm), audio(start, 3, pcm));
    peer.send(audio(start, 4, pcm), audio(start, 5, pcm));
    peer.send(audio(start + 20, 5, pcm));
    await endAndFinalize(peer, callId);
    expect(await tracks(callId)).toEqual([
      'audio:src-1',
      'audio:src-2',
      'audio:src-3',
      'audio:src-4',
      'audio:src-5',
    ]);
    const src5 = (await media.segments(callId)).filter((e) => e.track === 'src-5');
    expect(src5.map((e) => e.startTimestamp)).toEqual([start + 20]);
  });
});

describe('modalities as answered', () => {
  const video = (timestamp: number) =>
    ({
      type: 'video',
      sourceId: 9,
      timestamp,
      keyframe: true,
      data: Buffer.from([0, 0, 0, 1, 0x65]),
    }) as const;

  it('drops and counts video when the answer accepted audio only', async () => {
    const { peer, callId, start } = await streaming(['audio']);
    const dropped = await droppedFor('modality-not-answered');
    for (let i = 0; i < 5; i += 1) peer.send(audio(start + i * 20), video(start + i * 20));
    await endAndFinalize(peer, callId);
    expect(await tracks(callId)).toEqual(['audio:mixed']);
    expect(await droppedFor('modality-not-answered')).toBe(dropped + 5);
  });

  it('writes video when the answer accepted it', async () => {
    const { peer, callId, start } = await streaming(['audio', 'video']);
    for (let i = 0; i < 5; i += 1) peer.send(audio(start + i * 20), video(start + i * 20));
    await endAndFinalize(peer, callId);
    expect(await tracks(callId)).toEqual(['audio:mixed', 'video:src-9']);
  });
});

describe('lengths that lie', () => {
  /** A raw frame header: version 1, `type`, flags 0, the claimed payload length. */
  const header = (type: number, length: number) => {
    const h = Buffer.alloc(HEADER_BYTES);
    h.writeUInt8(1, 0);
    h.writeUInt8(type, 1);
    h.writeUInt32BE(length, 4);
    return h;
  };

  it('an audio header claiming 4 GiB ends the session before anything is buffered', async () => {
    const { peer, callId } = await streaming();
    const errors = await media.metrics.value(METRIC.mediaProtocolErrors);
    peer.socket.write(header(0x10, 0xffff_ffff));
    expect(await peer.next((f) => f.type === 'end')).toEqual({
      type: 'end',
      reason: 'protocol-error',
    });
    await peer.closed;
    await media.told(callId, 'MEDIA.LOST');
    expect(await media.metrics.value(METRIC.mediaProtocolErrors)).toBe(errors + 1);
  });

  it('an audio frame whose PCM is one byte short is a protocol error too', async () => {
    const { peer, callId, start } = await streaming();
    const payload = Buffer.alloc(16 + 639);
    payload.writeUInt8(0, 0); // mixed, not silent
    payload.writeBigUInt64BE(BigInt(start), 8);
    peer.socket.write(Buffer.concat([header(0x10, payload.length), payload]));
    expect(await peer.next((f) => f.type === 'end')).toMatchObject({ reason: 'protocol-error' });
    await media.told(callId, 'MEDIA.LOST');
  });
});
