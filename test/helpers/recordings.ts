/** Reading recordings in tests: the manifest's entries and a WAV file's PCM data. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export type ManifestEntry = Record<string, unknown> & { type: string };

export async function manifestOf(dir: string): Promise<ManifestEntry[]> {
  const text = await readFile(join(dir, 'manifest.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as ManifestEntry);
}

/** The samples of a PCM WAV file (the `data` chunk), checking the header on the way. */
export async function wavData(file: string): Promise<Buffer> {
  const wav = await readFile(file);
  if (wav.toString('ascii', 0, 4) !== 'RIFF' || wav.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error(`${file} is not a WAV file`);
  }
  let offset = 12;
  while (offset + 8 <= wav.length) {
    const id = wav.toString('ascii', offset, offset + 4);
    const size = wav.readUInt32LE(offset + 4);
    if (id === 'data') return wav.subarray(offset + 8, offset + 8 + size);
    offset += 8 + size + (size % 2);
  }
  throw new Error(`${file} has no data chunk`);
}
