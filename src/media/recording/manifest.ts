/**
 * The format of `manifest.jsonl`, the recording's truth: one JSON entry per line, each chained
 * to the line before, so a removed, reordered or edited line breaks the chain where it happened.
 *
 * - every entry: `hash = sha256(prev + sha256(canonical JSON of the entry without prev and
 *   hash))` (keys sorted, so re-serialising a line does not change it); a segment entry holds
 *   its file's sha256, so the chain also seals the media bytes.
 *
 * The first entry's `prev` is 64 zeros. Pure: parsing and hashing only, no I/O.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { isAudioTrack } from './layout.js';
import { SourceSpeakers, SpeakerMap } from './speakers.js';
import type { AudioTrack } from './types.js';

export const ZERO_HASH = '0'.repeat(64);

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const audioTrack = z.custom<AudioTrack>(isAudioTrack, 'not an audio track');
const kind = z.enum(['audio', 'video']);
const links = { prev: hex64, hash: hex64 };

/** One video frame inside a segment: [timestamp - startTimestamp, byte offset, keyframe]. */
const indexRow = z.tuple([
  z.number(),
  z.number().int().min(0),
  z.union([z.literal(0), z.literal(1)]),
]);

const SegmentSchema = z.object({
  type: z.literal('segment'),
  seq: z.number().int().min(1),
  kind,
  track: z.string(),
  file: z.string(),
  startTimestamp: z.number(),
  endTimestamp: z.number(),
  frames: z.number().int().min(0),
  bytes: z.number().int().min(0),
  sha256: hex64,
  index: z.array(indexRow).optional(),
  ...links,
});

const GapSchema = z.object({
  type: z.literal('gap'),
  track: audioTrack.optional(),
  from: z.number(),
  to: z.number(),
  reason: z.string(),
  ...links,
});

const OpenSchema = z.object({
  type: z.literal('open'),
  at: z.number(),
  pid: z.number(),
  host: z.string().optional(),
  ...links,
});

const FinalFileSchema = z.object({
  file: z.string(),
  kind,
  track: z.string(),
  sha256: hex64,
  bytes: z.number().int().min(0),
});

/** Who owns which source id from `at` on (./speakers.ts). */
const SpeakersSchema = z.object({
  type: z.literal('speakers'),
  at: z.number(),
  sources: SpeakerMap,
  ...links,
});

const FinalizedSchema = z.object({
  type: z.literal('finalized'),
  at: z.number(),
  startTimestamp: z.number(),
  endTimestamp: z.number(),
  files: z.array(FinalFileSchema),
  /** Every source's owners over time; absent in recordings written without a roster. */
  speakers: z.array(SourceSpeakers).optional(),
  ...links,
});

const EntrySchema = z.discriminatedUnion('type', [
  SegmentSchema,
  GapSchema,
  OpenSchema,
  SpeakersSchema,
  FinalizedSchema,
]);

export type ManifestEntry = z.infer<typeof EntrySchema>;
export type SegmentEntry = z.infer<typeof SegmentSchema>;
export type GapEntry = z.infer<typeof GapSchema>;
export type FinalizedEntry = z.infer<typeof FinalizedSchema>;
export type SpeakersEntry = z.infer<typeof SpeakersSchema>;
export type FinalFile = z.infer<typeof FinalFileSchema>;
export type VideoIndexRow = z.infer<typeof indexRow>;

type Unlinked<E> = E extends unknown ? Omit<E, 'prev' | 'hash'> : never;
export type EntryBody = Unlinked<ManifestEntry>;

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * The hash an entry must carry: its `prev` and every field of its content (for a segment that
 * includes the file's sha256, frame count, size, sequence and video index), so no field can be
 * edited without breaking the chain.
 */
export function entryHash(raw: Record<string, unknown>): string {
  const { prev, hash: _hash, ...body } = raw;
  return sha256Hex(String(prev) + sha256Hex(canonicalJson(body)));
}

/** Links `body` after `prev`; the JSON round trip drops `undefined` keys before hashing. */
export function chainEntry(prev: string, body: EntryBody): ManifestEntry {
  const plain = JSON.parse(JSON.stringify(body)) as Record<string, unknown>;
  const linked = { ...plain, prev };
  return { ...linked, hash: entryHash(linked) } as ManifestEntry;
}

export interface ParsedManifest {
  /** The well-formed entries, in file order. */
  entries: ManifestEntry[];
  problems: string[];
  /** The file ends in a partial line: a crash during an append. Not a problem. */
  tornTail: boolean;
  /** Bytes up to the last newline: what a continuing writer keeps. */
  validBytes: number;
  /** Hash of the last entry, what the next append links to. */
  lastHash: string;
}

export function parseManifest(buf: Buffer): ParsedManifest {
  const validBytes = buf.lastIndexOf(0x0a) + 1;
  const lines = buf.subarray(0, validBytes).toString('utf8').split('\n').slice(0, -1);
  const entries: ManifestEntry[] = [];
  const problems: string[] = [];
  let prev = ZERO_HASH;
  let prevLine = 0;
  lines.forEach((text, i) => {
    const n = i + 1;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      problems.push(`manifest line ${n}: not JSON`);
      return;
    }
    const parsed = EntrySchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.join('.') ?? '';
      problems.push(`manifest line ${n}: not a manifest entry (${where}: ${issue?.message})`);
      if (typeof raw !== 'object' || raw === null) return;
    }
    const obj = raw as Record<string, unknown>;
    if (obj.prev !== prev) {
      const after = prevLine === 0 ? 'the start (64 zeros)' : `line ${prevLine}'s hash`;
      problems.push(
        `manifest line ${n}: prev does not match ${after}: a line was removed, reordered or edited`,
      );
    }
    if (entryHash(obj) !== obj.hash) {
      problems.push(`manifest line ${n}: hash does not match the entry's content: it was edited`);
    }
    if (parsed.success) entries.push(parsed.data);
    prev = typeof obj.hash === 'string' ? obj.hash : prev;
    prevLine = n;
  });
  return { entries, problems, tornTail: validBytes < buf.length, validBytes, lastHash: prev };
}
