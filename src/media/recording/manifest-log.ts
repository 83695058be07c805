/**
 * The writer's handle on `manifest.jsonl`. Each append is one write of one line, then fsync:
 * an entry is on disk before the call returns, and a crash mid-append leaves at most a torn
 * last line, which `open` cuts off. Before each append the file must still be the size this
 * writer left it; otherwise a second writer (a session resumed on another media process while
 * this one still flushes) is refused with `ECONFLICT` instead of forking the chain.
 */
import { open, readFile, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDir, writeAll } from './durable-fs.js';
import { MANIFEST } from './layout.js';
import {
  chainEntry,
  parseManifest,
  ZERO_HASH,
  type EntryBody,
  type ManifestEntry,
} from './manifest.js';
import { asRecordingError, fsStep, RecordingError } from './recording-error.js';

export class ManifestLog {
  private dirSynced = false;

  private constructor(
    readonly path: string,
    private readonly dir: string,
    private readonly fsync: boolean,
    private prev: string,
    private size: number,
    /** Every entry, in order: read at open, then each append. */
    readonly entries: ManifestEntry[],
  ) {}

  /** Reads an existing manifest (refusing a broken chain) or prepares a new one. */
  static async open(dir: string, fsync: boolean): Promise<ManifestLog> {
    const path = join(dir, MANIFEST);
    let buf: Buffer;
    try {
      buf = await readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return new ManifestLog(path, dir, fsync, ZERO_HASH, 0, []);
      }
      throw asRecordingError(err, `read ${path}`);
    }
    const parsed = parseManifest(buf);
    if (parsed.problems.length > 0) {
      // Appending to a broken chain would make the damage look like our own writing.
      throw new RecordingError(
        'ECORRUPT',
        `${path} cannot be continued: ${parsed.problems.join('; ')}`,
      );
    }
    if (parsed.tornTail) {
      await fsStep(`cut the torn last line of ${path}`, () => truncate(path, parsed.validBytes));
    }
    const log = new ManifestLog(path, dir, fsync, parsed.lastHash, parsed.validBytes, []);
    log.entries.push(...parsed.entries);
    return log;
  }

  /**
   * Refuses (`ECONFLICT`) if another writer appended since this one last did. Called before a
   * segment file is written too: a writer that lost the recording to a resumed session must
   * not overwrite a file that the other writer has already listed.
   */
  async assertSole(): Promise<void> {
    const size = await fsStep(`stat ${this.path}`, async () => {
      try {
        return (await stat(this.path)).size;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
        throw err;
      }
    });
    this.checkSize(size);
  }

  async append(body: EntryBody): Promise<ManifestEntry> {
    const entry = chainEntry(this.prev, body);
    const line = Buffer.from(`${JSON.stringify(entry)}\n`);
    await fsStep(`append to ${this.path}`, async () => {
      const fh = await open(this.path, 'a');
      try {
        this.checkSize((await fh.stat()).size);
        await writeAll(fh, line);
        if (this.fsync) await fh.sync();
      } finally {
        await fh.close();
      }
    });
    if (!this.dirSynced) {
      // The first append may have created the file; its name must survive a power cut too.
      await syncDir(this.dir, this.fsync);
      this.dirSynced = true;
    }
    this.prev = entry.hash;
    this.size += line.length;
    this.entries.push(entry);
    return entry;
  }

  private checkSize(size: number): void {
    if (size === this.size) return;
    throw new RecordingError(
      'ECONFLICT',
      `${this.path} changed under this writer (${this.size} → ${size} bytes): another process writes this recording`,
    );
  }
}
