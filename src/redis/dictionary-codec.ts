/**
 * Small JSON values stored deflated (raw DEFLATE, RFC 1951) against a preset dictionary, base64,
 * behind a mark naming the dictionary. A value of a few hundred bytes gives DEFLATE little to
 * repeat, but most of it is the same keys and values every time: a dictionary that holds them
 * first turns them into back-references. A stored value without the mark is JSON, as builds
 * before packing (and `PACK_SNAPSHOTS=false`) store it, and is read as it is.
 *
 * A dictionary, once released, never changes: a stored value names the one it was written with.
 * A better one gets a new mark and the old one stays readable.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';

export interface DictionaryCodec {
  /** The stored form of `json`: deflated against the dictionary, marked. */
  compress(json: string): string;
  /**
   * The JSON of a stored value: inflated when it carries the mark, else as it is. A marked value
   * that does not inflate (damaged, or larger than `maxBytes`) throws, as JSON that does not
   * parse does.
   */
  json(stored: string): string;
}

export interface DictionaryCodecOptions {
  /** The mark before the base64 (`z1:`), naming the dictionary. */
  mark: string;
  dictionary: Buffer;
  /**
   * DEFLATE's window (2^windowBits bytes): it must hold the dictionary and the value's start. A
   * small window keeps zlib's native state small: with its defaults (32 KB window, 128 KB of
   * hash chains) each value allocated ≈ 300 KB, which showed as more garbage collection than the
   * compression itself costs.
   */
  windowBits: number;
  /** Largest JSON a stored value may inflate to (a bound against a damaged or hostile value). */
  maxBytes: number;
}

export function dictionaryCodec(options: DictionaryCodecOptions): DictionaryCodec {
  const { mark, dictionary, windowBits, maxBytes } = options;
  if (dictionary.length > 2 ** windowBits)
    throw new Error(`the ${mark} dictionary (${dictionary.length} bytes) exceeds its window`);
  const deflate = { dictionary, windowBits, memLevel: 5 };
  const inflate = { dictionary, windowBits, maxOutputLength: maxBytes };
  return {
    compress: (json) => mark + deflateRawSync(json, deflate).toString('base64'),
    json: (stored) =>
      stored.startsWith(mark)
        ? inflateRawSync(Buffer.from(stored.slice(mark.length), 'base64'), inflate).toString('utf8')
        : stored,
  };
}
