/**
 * The simulator's sense of time. Every timer, timestamp, sleep, delivery timeout and retry delay,
 * fault delay and media tick of the simulator goes through a `Clock` (`SimulatorOptions.clock`):
 * the real one by default, a `ManualClock` in tests that want to move time themselves instead of
 * waiting for it (an answer deadline, a keep-alive timeout or a retry backoff then costs no real
 * time at all).
 *
 * What is not simulated time stays on the real clock: the socket I/O itself, and the patience of
 * an observer (`SimCall.waitFor` timeouts guard a test against a hang, they are not platform
 * behaviour).
 */
import { setTimeout as sleepReal } from 'node:timers/promises';

/** A pending timer of a `Clock`; `unref` keeps it from holding a process open. */
export interface ClockTimer {
  unref(): unknown;
}

export interface Clock {
  /** Wall-clock time in ms since the epoch (as `Date.now()`). */
  now(): number;
  /** A monotonic time in ms for measuring durations (as `performance.now()`). */
  monotonic(): number;
  /** Call `fn` once, `ms` from now. */
  setTimeout(fn: () => void, ms: number): ClockTimer;
  clearTimeout(timer: ClockTimer | undefined): void;
  /** Resolves `ms` from now; rejects with an AbortError when `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Real time: `Date.now`, `performance.now`, node's timers. */
export const realClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout | undefined),
  sleep: (ms, signal) => sleepReal(ms, undefined, signal ? { signal } : undefined),
};

interface ManualTimer extends ClockTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

/** Lets what a fired timer started (promise chains, socket callbacks) run before the next. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 3; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
};

/**
 * Time that moves only when told: `advance(ms)` fires every timer that falls due within `ms`, in
 * order of due time, each at its own instant (`now()` reads that instant while it runs), letting
 * the work each one started settle before the next. Timers set while advancing fire within the
 * same advance when they fall due in it.
 */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: ManualTimer[] = [];

  /** @param start the initial `now()`; @default the real current time */
  constructor(start = Date.now()) {
    if (!Number.isFinite(start)) throw new Error('ManualClock: start must be a finite number');
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  monotonic(): number {
    return this.current;
  }

  /** Timers not yet fired nor cleared. */
  get pending(): number {
    return this.timers.length;
  }

  setTimeout(fn: () => void, ms: number): ClockTimer {
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const timer: ManualTimer = {
      at: this.current + delay,
      seq: this.seq++,
      fn,
      unref: () => timer,
    };
    this.timers.push(timer);
    return timer;
  }

  clearTimeout(timer: ClockTimer | undefined): void {
    if (timer === undefined) return;
    this.timers = this.timers.filter((t) => t !== timer);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.clearTimeout(timer);
        reject(abortError(signal!));
      };
      const timer = this.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Move time forward by `ms` (>= 0), firing every timer due by then. */
  async advance(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) throw new Error('ManualClock.advance: ms must be >= 0');
    const target = this.current + ms;
    await settle();
    for (;;) {
      const next = this.nextDue(target);
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.current = Math.max(this.current, next.at);
      next.fn();
      await settle();
    }
    this.current = target;
  }

  private nextDue(target: number): ManualTimer | undefined {
    let next: ManualTimer | undefined;
    for (const t of this.timers) {
      if (t.at > target) continue;
      if (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq)) next = t;
    }
    return next;
  }
}

function abortError(signal: AbortSignal): Error {
  const err = new Error('The operation was aborted', { cause: signal.reason });
  err.name = 'AbortError';
  return err;
}
