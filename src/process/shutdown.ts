/**
 * The shutdown budget and the signal handling every role shares. One number, SHUTDOWN_GRACE_MS,
 * bounds the whole sequence from SIGTERM to exit; every stage's deadline is a part of it, so the
 * stages can never add up to more than what the platform allows (Kubernetes sends SIGKILL after
 * terminationGracePeriodSeconds, which deploy/ sets above SHUTDOWN_GRACE_MS).
 */
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { EXIT } from './exit-codes.js';

export interface ShutdownBudget {
  /** SIGTERM → forced exit (`EXIT.fatal`): SHUTDOWN_GRACE_MS. */
  graceMs: number;
  /** First stage, ingress only: readiness 503 while still serving (SHUTDOWN_DELAY_MS). */
  delayMs: number;
  /** Second stage: stop intake, finish the work in flight (requests, jobs, media sessions). */
  drainMs: number;
  /** Last stage: close queues and Redis, flush telemetry. */
  closeMs: number;
}

/** The close stage never needs more than this: a Redis QUIT and one telemetry export. */
const CLOSE_MAX_MS = 5000;
/** The launcher kills a child this long after the child should have forced its own exit. */
export const KILL_MARGIN_MS = 2000;

export function shutdownBudget(
  settings: Pick<Config, 'shutdownGraceMs' | 'shutdownDelayMs'>,
): ShutdownBudget {
  const { shutdownGraceMs: graceMs, shutdownDelayMs: delayMs } = settings;
  const afterDelay = Math.max(0, graceMs - delayMs);
  // a quarter of what the delay leaves, so a short grace still gives the drain most of it
  const closeMs = Math.min(CLOSE_MAX_MS, Math.floor(afterDelay / 4));
  return { graceMs, delayMs, drainMs: afterDelay - closeMs, closeMs };
}

/**
 * First SIGTERM/SIGINT runs `close` and exits `EXIT.ok`; a failure or overrunning the grace
 * exits `EXIT.fatal`, and so does a second signal (someone wants the process gone now).
 */
export function onShutdown(logger: Logger, graceMs: number, close: () => Promise<void>): void {
  let closing = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (closing) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(EXIT.fatal);
    }
    closing = true;
    logger.info({ signal, graceMs }, 'shutting down');
    const force = setTimeout(() => {
      logger.error({ graceMs }, 'shutdown took longer than SHUTDOWN_GRACE_MS: exiting');
      process.exit(EXIT.fatal);
    }, graceMs);
    force.unref();
    close().then(
      () => process.exit(EXIT.ok),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(EXIT.fatal);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
