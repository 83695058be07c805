/**
 * Seals segments: the file in one write + fsync, its directory fsynced, then the chained
 * manifest entry (and the gaps the segment closes) appended + fsynced, in that order, so the
 * manifest never lists a file that is not fully on disk. A crash between the file and its
 * entry leaves an orphan that the next writer overwrites and verify ignores.
 */
import { join } from 'node:path';
import { renderAudio, type AudioSegment } from './audio-timeline.js';
import { ensureDir, syncDir, writeDurable } from './durable-fs.js';
import { segmentDir, segmentFile, videoTrack, type SegmentKind } from './layout.js';
import type { ManifestLog } from './manifest-log.js';
import { sha256Hex } from './manifest.js';
import type { Gap, RecordingStats } from './types.js';
import type { VideoSegment } from './video-timeline.js';

export class SegmentWriter {
  private readonly readyDirs = new Set<string>();

  constructor(
    private readonly dir: string,
    private readonly fsync: boolean,
    private readonly log: ManifestLog,
    private readonly stats: RecordingStats,
    private readonly onGap?: (gap: Gap) => void,
  ) {}

  async sealAudio(segment: AudioSegment): Promise<void> {
    const { track, seq, startTimestamp, endTimestamp, frames } = segment;
    const data = renderAudio(segment);
    const file = await this.sealFile('audio', track, seq, data);
    await this.log.append({
      type: 'segment',
      seq,
      kind: 'audio',
      track,
      file,
      startTimestamp,
      endTimestamp,
      frames,
      bytes: data.length,
      sha256: sha256Hex(data),
    });
    for (const { from, to, reason } of segment.gaps) {
      await this.log.append({ type: 'gap', track, from, to, reason });
      this.onGap?.({ track, from, to, reason });
    }
    this.count(segment.callerFrames, data.length);
  }

  async sealVideo(segment: VideoSegment): Promise<void> {
    const { seq, startTimestamp, endTimestamp, data, index } = segment;
    const track = videoTrack(segment.sourceId);
    const file = await this.sealFile('video', track, seq, data);
    await this.log.append({
      type: 'segment',
      seq,
      kind: 'video',
      track,
      file,
      startTimestamp,
      endTimestamp,
      frames: index.length,
      bytes: data.length,
      sha256: sha256Hex(data),
      index,
    });
    this.count(index.length, data.length);
  }

  /** The file on disk, durable, before any manifest entry may name it. */
  private async sealFile(
    kind: SegmentKind,
    track: string,
    seq: number,
    data: Buffer,
  ): Promise<string> {
    const dir = join(this.dir, segmentDir(kind, track));
    if (!this.readyDirs.has(dir)) {
      await ensureDir(dir, this.fsync);
      this.readyDirs.add(dir);
    }
    const file = segmentFile(kind, track, seq);
    await this.log.assertSole();
    await writeDurable(join(this.dir, file), data, this.fsync);
    await syncDir(dir, this.fsync);
    return file;
  }

  private count(frames: number, bytes: number): void {
    this.stats.framesWritten += frames;
    this.stats.bytesWritten += bytes;
    this.stats.segmentsSealed += 1;
  }
}
