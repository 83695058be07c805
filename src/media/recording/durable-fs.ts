/**
 * The few fs moves the store is built from, each durable when `fsync` is on: a file's bytes
 * are synced before anything points at it, and a directory is synced after a name appears in
 * it (a new file's data is not reachable after a power cut until its directory entry is).
 */
import { createHash, type Hash } from 'node:crypto';
import { mkdir, open, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fsStep } from './recording-error.js';

/** Writes `data` in one write, then fsyncs. Follows symlinks (a segment path may be one). */
export async function writeDurable(path: string, data: Buffer, fsync: boolean): Promise<void> {
  await fsStep(`write ${path}`, async () => {
    const fh = await open(path, 'w');
    try {
      await writeAll(fh, data);
      if (fsync) await fh.sync();
    } finally {
      await fh.close();
    }
  });
}

export async function syncDir(path: string, fsync: boolean): Promise<void> {
  if (!fsync) return;
  await fsStep(`fsync directory ${path}`, async () => {
    const fh = await open(path, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  });
}

/** `mkdir -p`, then syncs the parent of every directory it created. */
export async function ensureDir(path: string, fsync: boolean): Promise<void> {
  const first = await fsStep(`mkdir ${path}`, () => mkdir(path, { recursive: true }));
  if (first === undefined || !fsync) return;
  const created = [path];
  for (let d = path; d !== first && dirname(d) !== d; d = dirname(d)) {
    created.push(dirname(d));
  }
  for (const d of created) await syncDir(dirname(d), fsync);
}

/** Streams a file under a temporary name, hashing as it goes; `commit` renames it into place. */
export class HashingWriter {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;

  private constructor(
    private readonly fh: FileHandle,
    private readonly tmpPath: string,
  ) {}

  static async create(tmpPath: string): Promise<HashingWriter> {
    return new HashingWriter(await fsStep(`open ${tmpPath}`, () => open(tmpPath, 'w')), tmpPath);
  }

  async write(data: Buffer): Promise<void> {
    this.hash.update(data);
    await fsStep(`write ${this.tmpPath}`, () => writeAll(this.fh, data));
    this.bytes += data.length;
  }

  async zeros(count: number): Promise<void> {
    for (let left = count; left > 0; left -= ZEROS.length) {
      await this.write(left >= ZEROS.length ? ZEROS : ZEROS.subarray(0, left));
    }
  }

  async commit(path: string, fsync: boolean): Promise<{ sha256: string; bytes: number }> {
    await fsStep(`fsync ${this.tmpPath}`, async () => {
      try {
        if (fsync) await this.fh.sync();
      } finally {
        await this.fh.close();
      }
    });
    await fsStep(`rename ${this.tmpPath}`, () => rename(this.tmpPath, path));
    return { sha256: this.hash.digest('hex'), bytes: this.bytes };
  }

  async abandon(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}

/** Writes at the current position until all of `data` is down (a write may be short). */
export async function writeAll(fh: FileHandle, data: Buffer): Promise<void> {
  for (let done = 0; done < data.length;) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, null);
    done += bytesWritten;
  }
}

const ZEROS = Buffer.alloc(64 * 1024);
