/**
 * Real files in a fresh temporary directory per test, distinguishable PCM frames, and a WAV
 * reader written from the RIFF spec (not from our writer) so the tests check the format.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';

export { frame, FRAME, T0 } from './fixtures/frames.js';

/** A fresh root directory for each test of the calling file, removed afterwards. */
export function useTempRoot(): { readonly root: string } {
  const box = { root: '' };
  beforeEach(async () => {
    box.root = await mkdtemp(join(tmpdir(), 'cr-recording-'));
  });
  afterEach(async () => {
    await rm(box.root, { recursive: true, force: true });
  });
  return box;
}

export function zeros(ms: number): Buffer {
  return Buffer.alloc(ms * 32);
}

export interface Wav {
  format: number;
  channels: number;
  sampleRate: number;
  byteRate: number;
  blockAlign: number;
  bits: number;
  data: Buffer;
}

export async function readWav(path: string): Promise<Wav> {
  const b = await readFile(path);
  expect(b.toString('ascii', 0, 4)).toBe('RIFF');
  expect(b.readUInt32LE(4)).toBe(b.length - 8);
  expect(b.toString('ascii', 8, 12)).toBe('WAVE');
  expect(b.toString('ascii', 12, 16)).toBe('fmt ');
  expect(b.readUInt32LE(16)).toBe(16);
  expect(b.toString('ascii', 36, 40)).toBe('data');
  const dataBytes = b.readUInt32LE(40);
  expect(dataBytes).toBe(b.length - 44);
  return {
    format: b.readUInt16LE(20),
    channels: b.readUInt16LE(22),
    sampleRate: b.readUInt32LE(24),
    byteRate: b.readUInt32LE(28),
    blockAlign: b.readUInt16LE(32),
    bits: b.readUInt16LE(34),
    data: b.subarray(44),
  };
}

export async function manifestLines(dir: string): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(join(dir, 'manifest.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
