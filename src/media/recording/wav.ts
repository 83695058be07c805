/**
 * The 44-byte header of a canonical PCM WAV file (RIFF/WAVE, `fmt ` chunk of 16 bytes, format
 * 1, then `data`), for the format cr-media/1 carries: mono, 16 kHz, 16-bit little-endian.
 */
import { SAMPLE_RATE } from './types.js';

export const WAV_HEADER_BYTES = 44;
/** RIFF sizes are u32: the RIFF chunk size (data + 36) must fit. */
export const MAX_WAV_DATA_BYTES = 0xffff_ffff - 36;

const CHANNELS = 1;
const BITS = 16;

export function wavHeader(dataBytes: number): Buffer {
  const h = Buffer.alloc(WAV_HEADER_BYTES);
  const blockAlign = (CHANNELS * BITS) / 8;
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(CHANNELS, 22);
  h.writeUInt32LE(SAMPLE_RATE, 24);
  h.writeUInt32LE(SAMPLE_RATE * blockAlign, 28);
  h.writeUInt16LE(blockAlign, 32);
  h.writeUInt16LE(BITS, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}
