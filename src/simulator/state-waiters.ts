/**
 * Promise waiters for "the call has reached state X", with a timeout and early failure once the
 * call can no longer get there. Kept apart from the call logic so that stays readable.
 */
import type { SimCallState } from './types.js';

interface Waiter {
  state: SimCallState;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class StateWaiters {
  private readonly reached = new Set<SimCallState>();
  private waiters: Waiter[] = [];

  constructor(private readonly callId: string) {}

  has(state: SimCallState): boolean {
    return this.reached.has(state);
  }

  /** Mark `state` reached and settle everyone waiting for it. */
  mark(state: SimCallState): void {
    this.reached.add(state);
    for (const w of this.waiters.filter((x) => x.state === state)) this.settle(w).resolve();
  }

  /** The call can reach nothing more: fail everyone still waiting. */
  failAll(why: string): void {
    for (const w of [...this.waiters]) {
      this.settle(w).reject(new Error(`call ${this.callId}: ${why} before reaching '${w.state}'`));
    }
  }

  wait(state: SimCallState, timeoutMs: number, describe: () => string): Promise<void> {
    if (this.reached.has(state)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(waiter).reject(
          new Error(
            `call ${this.callId}: '${state}' not reached within ${timeoutMs} ms (${describe()})`,
          ),
        );
      }, timeoutMs);
      const waiter: Waiter = { state, resolve, reject, timer };
      this.waiters.push(waiter);
    });
  }

  private settle(w: Waiter): Waiter {
    clearTimeout(w.timer);
    this.waiters = this.waiters.filter((x) => x !== w);
    return w;
  }
}
