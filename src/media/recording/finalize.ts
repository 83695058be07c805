/**
 * finalize(): the sealed segments become one WAV per audio track and one H.264 stream per
 * video source, then a chained `finalized` entry records every final file's sha256.
 *
 * All WAVs share one timeline: sample 0 is the earliest audio timestamp of any track and every
 * WAV runs to the latest end, so sample N of each is the same instant; leading, inner (crash)
 * and trailing holes are silence. Each final file is streamed under a temporary name and
 * renamed into place, and every segment's sha256 is checked on the way, so a damaged segment
 * is refused (`ECORRUPT`) rather than baked into the result. A crash before the entry is
 * appended leaves the recording unfinalized; the next finalize() writes the files again.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDir, HashingWriter, syncDir } from './durable-fs.js';
import { FINAL_DIR, finalFile, segmentFile } from './layout.js';
import type { ManifestLog } from './manifest-log.js';
import { sha256Hex, type FinalFile, type SegmentEntry } from './manifest.js';
import { fsStep, RecordingError } from './recording-error.js';
import { finalizedResult, groupSegments, speakerSnapshots } from './recording-state.js';
import { speakerIntervals } from './speakers.js';
import { SAMPLES_PER_MS, type FinalizedRecording } from './types.js';
import { MAX_WAV_DATA_BYTES, wavHeader } from './wav.js';

const BYTES_PER_SAMPLE = 2;

export async function finalizeRecording(
  dir: string,
  log: ManifestLog,
  fsync: boolean,
): Promise<FinalizedRecording> {
  const done = finalizedResult(dir, log.entries);
  if (done) return done;
  const { audio, video } = groupSegments(log.entries);
  const audioSegments = [...audio.values()].flat();
  const videoSegments = [...video.values()].flat();
  // Without audio the video's first frame is the reference, and an empty call starts at 0.
  const timed = audioSegments.length > 0 ? audioSegments : videoSegments;
  const startTimestamp = timed.reduce((m, s) => Math.min(m, s.startTimestamp), Infinity);
  const start = Number.isFinite(startTimestamp) ? startTimestamp : 0;
  const end = audioSegments.reduce((m, s) => Math.max(m, s.endTimestamp), start);

  await ensureDir(join(dir, FINAL_DIR), fsync);
  const files: FinalFile[] = [];
  for (const [track, segments] of audio) {
    files.push(await writeWav(dir, track, segments, start, end, fsync));
  }
  for (const [track, segments] of video) {
    files.push(await concatVideo(dir, track, segments, fsync));
  }
  await syncDir(join(dir, FINAL_DIR), fsync);
  const at = Date.now();
  const snapshots = speakerSnapshots(log.entries);
  // open ownership ends when the recording does (finalize time: the roster's clock, not media's)
  const speakers = snapshots.length > 0 ? speakerIntervals(snapshots, at) : undefined;
  await log.append({
    type: 'finalized',
    at,
    startTimestamp: start,
    endTimestamp: end,
    files,
    ...(speakers ? { speakers } : {}),
  });
  return finalizedResult(dir, log.entries)!;
}

async function writeWav(
  dir: string,
  track: string,
  segments: SegmentEntry[],
  start: number,
  end: number,
  fsync: boolean,
): Promise<FinalFile> {
  const file = finalFile('audio', track);
  const dataBytes = byteOffset(end, start);
  if (dataBytes > MAX_WAV_DATA_BYTES) {
    throw new RecordingError('EFBIG', `${file}: ${dataBytes} bytes of audio exceed a WAV's 4 GiB`);
  }
  return stream(dir, file, fsync, async (out) => {
    await out.write(wavHeader(dataBytes));
    let at = 0;
    for (const segment of segments) {
      const offset = byteOffset(segment.startTimestamp, start);
      if (offset < at) {
        throw new RecordingError('ECORRUPT', `${segment.file} overlaps the segment before it`);
      }
      await out.zeros(offset - at);
      const data = await readSegment(dir, segment);
      await out.write(data);
      at = offset + data.length;
    }
    await out.zeros(dataBytes - at);
    return { kind: 'audio', track };
  });
}

async function concatVideo(
  dir: string,
  track: string,
  segments: SegmentEntry[],
  fsync: boolean,
): Promise<FinalFile> {
  return stream(dir, finalFile('video', track), fsync, async (out) => {
    for (const segment of segments) await out.write(await readSegment(dir, segment));
    return { kind: 'video', track };
  });
}

async function stream(
  dir: string,
  file: string,
  fsync: boolean,
  body: (out: HashingWriter) => Promise<Pick<FinalFile, 'kind' | 'track'>>,
): Promise<FinalFile> {
  const out = await HashingWriter.create(join(dir, `${file}.tmp`));
  try {
    const what = await body(out);
    return { file, ...what, ...(await out.commit(join(dir, file), fsync)) };
  } catch (err) {
    await out.abandon();
    throw err;
  }
}

/** A sealed segment's bytes, refused unless they are what the manifest sealed. */
async function readSegment(dir: string, segment: SegmentEntry): Promise<Buffer> {
  if (segment.file !== segmentFile(segment.kind, segment.track, segment.seq)) {
    throw new RecordingError('ECORRUPT', `manifest names an unexpected file ${segment.file}`);
  }
  const data = await fsStep(`read ${segment.file}`, () => readFile(join(dir, segment.file)));
  if (data.length !== segment.bytes || sha256Hex(data) !== segment.sha256) {
    throw new RecordingError('ECORRUPT', `${segment.file} is not the segment the manifest sealed`);
  }
  return data;
}

function byteOffset(timestamp: number, start: number): number {
  return Math.round((timestamp - start) * SAMPLES_PER_MS) * BYTES_PER_SAMPLE;
}
