/**
 * The media frame guard with an injected clock (src/media/frame-guard.ts): the media clock may
 * run ahead of real time by at most the allowed jump, never fall behind it by more, and unmixed
 * sources are counted per 20 ms.
 */
import { describe, expect, it } from 'vitest';
import { FrameGuard } from '../../src/media/frame-guard.js';
import type { Frame } from '@cr-orchestrator/media-protocol';

const T0 = 1_760_000_000_000;

function guard(modalities: ('audio' | 'video')[] = ['audio'], maxJumpMs = 1000) {
  let now = T0;
  const g = new FrameGuard({ maxJumpMs, maxUnmixedSources: 2, modalities }, () => now);
  return { g, advance: (ms: number) => (now += ms) };
}

const mixed = (timestamp: number): Frame => ({
  type: 'audio',
  kind: 'mixed',
  sourceId: 0,
  timestamp,
  silence: true,
});
const unmixed = (timestamp: number, sourceId: number): Frame => ({
  type: 'audio',
  kind: 'unmixed',
  sourceId,
  timestamp,
  silence: true,
});
const admit = (g: FrameGuard, f: Frame) => g.admit(f as Extract<Frame, { type: 'audio' }>);

describe('the media clock', () => {
  it('allows the jump plus the real time that passed, and no more', () => {
    const { g, advance } = guard();
    expect(admit(g, mixed(T0)).verdict).toBe('take');
    advance(5000);
    expect(admit(g, mixed(T0 + 5900)).verdict).toBe('take'); // 5 s real + 0.9 s
    expect(admit(g, mixed(T0 + 5900 + 1100)).verdict).toBe('error'); // 1.1 s ahead at once
  });

  it('refuses a step back beyond the jump, but takes a frame slightly late', () => {
    const { g } = guard();
    admit(g, mixed(T0));
    expect(admit(g, mixed(T0 - 900)).verdict).toBe('take');
    expect(admit(g, mixed(T0 - 1100))).toMatchObject({ verdict: 'error' });
  });

  it('does not let a refused frame move the clock', () => {
    const { g } = guard();
    admit(g, mixed(T0));
    expect(admit(g, mixed(Number.MAX_SAFE_INTEGER)).verdict).toBe('error');
    expect(admit(g, mixed(T0 + 20)).verdict).toBe('take');
  });
});

describe('unmixed sources', () => {
  it('takes the allowed number per 20 ms, the same source again, and new ones in the next 20 ms', () => {
    const { g } = guard();
    expect(admit(g, unmixed(T0, 1)).verdict).toBe('take');
    expect(admit(g, unmixed(T0, 2)).verdict).toBe('take');
    expect(admit(g, unmixed(T0, 3))).toEqual({ verdict: 'drop', reason: 'source-limit' });
    expect(admit(g, unmixed(T0, 2)).verdict).toBe('take');
    expect(admit(g, unmixed(T0 + 20, 3)).verdict).toBe('take');
    expect(admit(g, mixed(T0)).verdict).toBe('take'); // the mixed track is not a source
  });

  it('drops an unmixed frame older than the last second: its 20 ms can no longer be counted', () => {
    const { g } = guard(['audio'], 60_000);
    admit(g, unmixed(T0 + 2000, 1));
    expect(admit(g, unmixed(T0 + 900, 5))).toEqual({ verdict: 'drop', reason: 'source-limit' });
    expect(admit(g, unmixed(T0 + 1100, 5)).verdict).toBe('take');
  });
});

describe('modalities', () => {
  const video: Frame = {
    type: 'video',
    sourceId: 3,
    timestamp: T0,
    keyframe: true,
    data: Buffer.from([1]),
  };
  it('drops video unless the answer accepted it', () => {
    expect(guard(['audio']).g.admit(video)).toEqual({
      verdict: 'drop',
      reason: 'modality-not-answered',
    });
    expect(guard(['audio', 'video']).g.admit(video)).toEqual({
      verdict: 'take',
    });
  });
});
