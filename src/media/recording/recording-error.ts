/**
 * The one error of the recording store. Its decision for the caller: this recording cannot be
 * trusted to take more media (report `MEDIA.FAULT`). `code` is the errno of the failed fs call
 * (`ENOSPC` = disk full, `EIO`, `EACCES`, …) or one of ours:
 * - `EINVAL`: a bad argument (does not poison the recording);
 * - `ECORRUPT`: the manifest chain or a sealed segment does not match what was written;
 * - `ECONFLICT`: another writer appended to the manifest;
 * - `ECLOSED`, `EFINALIZED`: the recording takes no more media;
 * - `EFBIG`: a final WAV would exceed RIFF's 4 GiB.
 */
export class RecordingError extends Error {
  override name = 'RecordingError';
  constructor(
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export function asRecordingError(err: unknown, what: string): RecordingError {
  if (err instanceof RecordingError) return err;
  const code =
    err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string'
      ? ((err as NodeJS.ErrnoException).code as string)
      : 'EIO';
  const message = err instanceof Error ? err.message : String(err);
  return new RecordingError(code, `${what}: ${message}`, { cause: err });
}

/** Runs one fs step; its failure becomes a RecordingError that keeps the errno. */
export async function fsStep<T>(what: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    throw asRecordingError(err, what);
  }
}
