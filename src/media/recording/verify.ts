/**
 * verifyRecording(dir): re-reads a recording the way an auditor would, trusting nothing the
 * writer remembers: every chain link of the manifest, every listed file's size and sha256,
 * each track's order, and for a finalized recording the final files' hashes. It never throws
 * for what it finds; findings are human-readable `problems` (ok = none). Files that no entry
 * lists are `orphans` (what a crash between a write and its manifest append leaves), not
 * problems; a torn last manifest line (a crash during an append) is a `note`.
 *
 * Speaker attribution: when the manifest has `speakers` entries (every recording the media
 * process writes does), the finalized entry's per-source owners must be what those entries
 * say, and every unmixed audio track must have an owner.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FINAL_DIR, finalFile, MANIFEST, SEGMENT_ROOTS, segmentFile } from './layout.js';
import {
  parseManifest,
  type FinalizedEntry,
  type ManifestEntry,
  type SegmentEntry,
} from './manifest.js';
import { gapsOf, groupSegments, segmentsOf, speakerSnapshots } from './recording-state.js';
import { speakerIntervals } from './speakers.js';
import { FRAME_BYTES, FRAME_MS, type VerifyResult } from './types.js';

export async function verifyRecording(dir: string): Promise<VerifyResult> {
  let buf: Buffer;
  try {
    buf = await readFile(join(dir, MANIFEST));
  } catch (err) {
    const problems = [`${MANIFEST}: cannot be read (${errorCode(err)})`];
    return {
      ok: false,
      problems,
      segments: 0,
      gaps: [],
      finalized: false,
      orphans: [],
      notes: [],
      speakers: [],
    };
  }
  const { entries, problems, tornTail } = parseManifest(buf);
  const notes = tornTail
    ? [`${MANIFEST} ends in a partial line (a crash during an append); it is ignored`]
    : [];
  const segments = segmentsOf(entries);
  for (const segment of segments) problems.push(...(await checkSegment(dir, segment)));
  problems.push(...checkOrder(entries));
  const finalizedAt = entries.findIndex((e) => e.type === 'finalized');
  const finalized = entries[finalizedAt] as FinalizedEntry | undefined;
  if (finalized) {
    problems.push(...(await checkFinal(dir, finalized, entries)));
    const speakers = checkSpeakers(finalized, entries);
    problems.push(...speakers.problems);
    notes.push(...speakers.notes);
    for (const later of entries.slice(finalizedAt + 1)) {
      if (later.type !== 'open') problems.push(`a ${later.type} entry follows the finalized entry`);
    }
  }
  const listed = new Set([
    ...segments.map((s) => s.file),
    ...(finalized?.files ?? []).map((f) => f.file),
  ]);
  const orphans = (await listFiles(dir)).filter((f) => !listed.has(f));
  return {
    ok: problems.length === 0,
    problems,
    segments: segments.length,
    gaps: gapsOf(entries),
    finalized: finalized !== undefined,
    orphans,
    notes,
    speakers: finalized?.speakers ?? [],
  };
}

async function checkSegment(dir: string, s: SegmentEntry): Promise<string[]> {
  const expected = segmentFile(s.kind, s.track, s.seq);
  if (s.file !== expected)
    return [`segment ${s.kind} ${s.track} #${s.seq} names ${s.file}, not ${expected}`];
  const problems = await checkFile(dir, s.file, s.bytes, s.sha256);
  if (s.kind === 'audio') {
    if (s.bytes !== s.frames * FRAME_BYTES) {
      problems.push(`${s.file}: ${s.bytes} bytes do not hold ${s.frames} audio frames`);
    }
    if (s.endTimestamp - s.startTimestamp !== s.frames * FRAME_MS) {
      problems.push(`${s.file}: ${s.startTimestamp}..${s.endTimestamp} is not ${s.frames} frames`);
    }
    return problems;
  }
  const index = s.index ?? [];
  const ordered = index.every(
    ([t, offset], i) =>
      offset < s.bytes &&
      (i === 0 ? t === 0 && offset === 0 : t >= index[i - 1]![0] && offset > index[i - 1]![1]),
  );
  const lastTime = index.at(-1)?.[0];
  if (index.length !== s.frames || !ordered || lastTime !== s.endTimestamp - s.startTimestamp) {
    problems.push(`${s.file}: the frame index does not describe the segment`);
  }
  return problems;
}

/** Within a track, segments follow each other without overlapping, in sequence order. */
function checkOrder(entries: ManifestEntry[]): string[] {
  const { audio, video } = groupSegments(entries);
  const problems: string[] = [];
  for (const [kind, groups] of [
    ['audio', audio],
    ['video', video],
  ] as const) {
    for (const [track, list] of groups) {
      list.forEach((s, i) => {
        const before = list[i - 1];
        if (before && s.seq === before.seq)
          problems.push(`${kind} ${track}: segment #${s.seq} is listed twice`);
        else if (before && s.startTimestamp < before.endTimestamp) {
          problems.push(`${s.file} starts before ${before.file} ends`);
        }
      });
    }
  }
  return problems;
}

async function checkFinal(
  dir: string,
  entry: FinalizedEntry,
  entries: ManifestEntry[],
): Promise<string[]> {
  const problems: string[] = [];
  const { audio, video } = groupSegments(entries);
  const tracks = [
    ...[...audio.keys()].map((t) => finalFile('audio', t)),
    ...[...video.keys()].map((t) => finalFile('video', t)),
  ];
  const files = new Set(entry.files.map((f) => f.file));
  for (const file of tracks) {
    if (!files.has(file)) problems.push(`finalized entry lists no ${file}`);
  }
  for (const f of entry.files) {
    if (f.file !== finalFile(f.kind, f.track)) problems.push(`finalized entry names ${f.file}`);
    else problems.push(...(await checkFile(dir, f.file, f.bytes, f.sha256)));
  }
  return problems;
}

function checkSpeakers(
  finalized: FinalizedEntry,
  entries: ManifestEntry[],
): { problems: string[]; notes: string[] } {
  const snapshots = speakerSnapshots(entries);
  const unmixed = finalized.files.filter((f) => f.kind === 'audio' && f.track !== 'mixed');
  if (snapshots.length === 0) {
    if (finalized.speakers !== undefined) {
      return {
        problems: ['finalized entry lists speakers but no speakers entry exists'],
        notes: [],
      };
    }
    const notes = unmixed.length > 0 ? ['no speaker attribution (written without a roster)'] : [];
    return { problems: [], notes };
  }
  const problems: string[] = [];
  const expected = speakerIntervals(snapshots, finalized.at);
  if (JSON.stringify(finalized.speakers ?? null) !== JSON.stringify(expected)) {
    problems.push("finalized entry's speaker attribution does not match the speakers entries");
  }
  for (const f of unmixed) {
    if (!expected.some((s) => s.track === f.track && s.owners.length > 0)) {
      problems.push(`${f.file}: no participant owned source ${f.track.slice(4)}`);
    }
  }
  return { problems, notes: [] };
}

async function checkFile(
  dir: string,
  file: string,
  bytes: number,
  sha256: string,
): Promise<string[]> {
  let actual: { sha256: string; bytes: number };
  try {
    actual = await hashFile(join(dir, file));
  } catch (err) {
    return [`${file}: listed in the manifest but cannot be read (${errorCode(err)})`];
  }
  if (actual.bytes !== bytes) return [`${file}: ${actual.bytes} bytes, the manifest says ${bytes}`];
  if (actual.sha256 !== sha256) {
    return [`${file}: content does not match its sha256 in the manifest (the file was altered)`];
  }
  return [];
}

async function hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** Relative paths of every file under the segment and final directories. */
async function listFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    let names;
    try {
      names = await readdir(join(dir, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const d of names) {
      const path = `${rel}/${d.name}`;
      if (d.isDirectory()) await walk(path);
      else found.push(path);
    }
  };
  for (const root of [...SEGMENT_ROOTS, FINAL_DIR]) await walk(root);
  return found.sort();
}

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err);
}
