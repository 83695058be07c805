/**
 * A call's timers, on the simulator's clock: all unref'd (a simulated call never keeps a test
 * process alive) and all cleared at once when the leg ends or the simulator closes.
 */
import type { Clock, ClockTimer } from './clock.js';

export class CallTimers {
  private readonly pending = new Set<ClockTimer>();

  constructor(private readonly clock: Clock) {}

  after(ms: number, fn: () => void): ClockTimer {
    const timer = this.clock.setTimeout(() => {
      this.pending.delete(timer);
      fn();
    }, ms);
    timer.unref();
    this.pending.add(timer);
    return timer;
  }

  cancel(timer: ClockTimer | undefined): void {
    if (timer === undefined) return;
    this.clock.clearTimeout(timer);
    this.pending.delete(timer);
  }

  clear(): void {
    for (const t of this.pending) this.clock.clearTimeout(t);
    this.pending.clear();
  }
}
