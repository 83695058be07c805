/**
 * A peer that says END and closes its socket at once (as a hanging-up platform may): the END owns
 * the session, so the recording is finalised and the call told MEDIA.ENDED — the socket's close,
 * arriving while the end still reads Redis, is not taken for a lost connection.
 */
import { encodeFrame } from '@cr-orchestrator/media-protocol';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  audio,
  startHostileMedia,
  type HostileMedia,
  streamingPeer,
} from '../helpers/hostile-media.js';
import { manifestOf } from '../helpers/recordings.js';
import { eventually } from '../helpers/system.js';

let media: HostileMedia;
beforeAll(async () => {
  media = await startHostileMedia('media-end');
});
afterAll(() => media.close());

describe('END followed at once by the socket closing', () => {
  it('finalises the recording and reports the end, never a loss', async () => {
    const calls = Array.from({ length: 8 }, (_, i) => `media-end-${i}-${Date.now()}`);
    await Promise.all(
      calls.map(async (callId) => {
        const peer = await streamingPeer(media, callId, { sources: 1 });
        peer.send(...Array.from({ length: 25 }, (_, i) => audio(1000 + i * 20)));
        // END and FIN in one write: the server sees the close while its end is under way
        peer.socket.end(encodeFrame({ type: 'end', reason: 'hangup' }));
        await media.told(callId, 'MEDIA.ENDED');
        const manifest = await eventually(
          async () => {
            const entries = await manifestOf(join(media.recordingsDir, callId)).catch(() => []);
            return entries.some((e) => e.type === 'finalized') ? entries : undefined;
          },
          8000,
          `${callId} finalized`,
        );
        expect(manifest.some((e) => e.type === 'finalized')).toBe(true);
        expect(media.events.get(callId)!.map((e) => e.type)).not.toContain('MEDIA.LOST');
      }),
    );
  });
});
