/**
 * A background pass run every `intervalMs`, never overlapping itself (a slow pass is not
 * stacked up on), its failures logged and retried on the next tick; `close()` waits for the
 * pass in flight. The sweepers of the outbox and of orphaned media sessions run on it.
 */
import type { Logger } from 'pino';

export interface Periodic {
  close(): Promise<void>;
}

export function every(
  intervalMs: number,
  pass: () => Promise<unknown>,
  logger: Logger,
  what: string,
): Periodic {
  let running: Promise<void> | undefined;
  let stopped = false;
  const timer = setInterval(() => {
    if (stopped || running) return;
    running = pass()
      .then(
        () => undefined,
        (error: unknown) => logger.warn({ err: error }, `${what} failed; retrying next tick`),
      )
      .finally(() => (running = undefined));
  }, intervalMs);
  timer.unref();
  let closed: Promise<void> | undefined;
  return {
    close: () =>
      (closed ??= (async () => {
        stopped = true;
        clearInterval(timer);
        await running;
      })()),
  };
}
