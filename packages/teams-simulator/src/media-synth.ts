/**
 * Synthetic, deterministic media for the media peer: speech-like PCM per (sourceId, frame index)
 * and fake H.264 access units. Pure functions; the same arguments give the same bytes, so a
 * test can regenerate what a speaker said at any tick.
 *
 * Speech: phrases of 2 s (offset per speaker) with 0.7–1.6 s of talk then a pause (the frame is
 * silent: `speechFrame` returns null); talk is 180 ms syllables under a sin² envelope, each a
 * per-syllable pitch around the speaker's own f0 with two harmonics. Phases run on the absolute
 * sample index, so consecutive frames join without clicks.
 */
import { PCM_FRAME_BYTES } from '@cr-orchestrator/media-protocol';

const SAMPLE_RATE = 16_000;
const SAMPLES = PCM_FRAME_BYTES / 2;
const PHRASE_FRAMES = 100;
const SYLLABLE_FRAMES = 9;
const AMPLITUDE = 9000;

/** A small integer hash (Murmur3's finaliser over a mixed pair), deterministic everywhere. */
export function hash32(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** 20 ms of a speaker at frame `n`, or null during a pause (sent as a silence frame). */
export function speechFrame(sourceId: number, n: number): Int16Array | null {
  const pos = n + (hash32(sourceId, 0) % PHRASE_FRAMES);
  const phrase = Math.floor(pos / PHRASE_FRAMES);
  const p = pos % PHRASE_FRAMES;
  const talk = 35 + (hash32(sourceId, phrase + 1) % 45);
  if (p >= talk) return null;
  const syllable = Math.floor(p / SYLLABLE_FRAMES);
  const base = 90 + (hash32(sourceId, 7) % 160);
  const f0 = base * (1 + ((hash32(sourceId, phrase * 64 + syllable + 2) % 21) - 10) / 100);
  const out = new Int16Array(SAMPLES);
  const into = (p % SYLLABLE_FRAMES) * SAMPLES;
  for (let i = 0; i < SAMPLES; i += 1) {
    const t = (n * SAMPLES + i) / SAMPLE_RATE;
    const env = Math.sin((Math.PI * (into + i)) / (SYLLABLE_FRAMES * SAMPLES)) ** 2;
    const w = 2 * Math.PI * f0 * t;
    const v = 0.55 * Math.sin(w) + 0.3 * Math.sin(2 * w) + 0.15 * Math.sin(3 * w);
    out[i] = Math.round(AMPLITUDE * env * v);
  }
  return out;
}

/** The clipped sum of several speakers' frames; null when none speaks. */
export function mixFrames(frames: Int16Array[]): Int16Array | null {
  if (frames.length === 0) return null;
  const out = new Int16Array(SAMPLES);
  for (let i = 0; i < SAMPLES; i += 1) {
    let sum = 0;
    for (const f of frames) sum += f[i]!;
    out[i] = Math.max(-32768, Math.min(32767, sum));
  }
  return out;
}

/** 16-bit little-endian bytes of a frame. */
export function pcmBytes(samples: Int16Array): Buffer {
  const out = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i += 1) out.writeInt16LE(samples[i]!, i * 2);
  return out;
}

const START_CODE = [0, 0, 0, 1];

/** `n` deterministic bytes, never 0, so no start code can appear inside a NAL unit. */
function body(sourceId: number, tick: number, salt: number, n: number): number[] {
  const seed = hash32(sourceId, tick * 8 + salt);
  return Array.from({ length: n }, (_, i) => 1 + (hash32(seed, i) % 255));
}

/**
 * A fake H.264 access unit in Annex B: SPS (7) + PPS (8) + IDR slice (5) for a keyframe, else
 * one non-IDR slice (1). Not decodable; the shape is what a recorder stores and indexes.
 */
export function accessUnit(sourceId: number, tick: number, keyframe: boolean): Buffer {
  const size = (salt: number, min: number, spread: number) =>
    min + (hash32(sourceId, tick * 8 + salt + 4) % spread);
  const nal = (header: number, salt: number, bytes: number) => [
    ...START_CODE,
    header,
    ...body(sourceId, tick, salt, bytes),
  ];
  if (!keyframe) return Buffer.from(nal(0x41, 0, size(0, 60, 100)));
  return Buffer.from([...nal(0x67, 1, 8), ...nal(0x68, 2, 4), ...nal(0x65, 3, size(3, 400, 200))]);
}
