/**
 * Promise waiters for "the call has reached state X", with a timeout and early failure once the
 * call can no longer get there. Kept apart from the call logic so that stays readable. Also used
 * for user-side outcomes, hence generic over what is waited for.
 */
import type { SimCallState } from './types.js';

interface Waiter<K extends string> {
  state: K;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class StateWaiters<K extends string = SimCallState> {
  private readonly reached = new Set<K>();
  private waiters: Waiter<K>[] = [];

  /** @param noun prefixes the awaited value in messages, e.g. "outcome 'userEjected'" */
  constructor(
    private readonly callId: string,
    private readonly noun = '',
  ) {}

  has(state: K): boolean {
    return this.reached.has(state);
  }

  /** Mark `state` reached and settle everyone waiting for it. */
  mark(state: K): void {
    this.reached.add(state);
    for (const w of this.waiters.filter((x) => x.state === state)) this.settle(w).resolve();
  }

  /** The call can reach nothing more: fail everyone still waiting. */
  failAll(why: string): void {
    for (const w of [...this.waiters]) {
      const what = `${this.noun}'${w.state}'`;
      this.settle(w).reject(new Error(`call ${this.callId}: ${why} before reaching ${what}`));
    }
  }

  wait(state: K, timeoutMs: number, describe: () => string): Promise<void> {
    if (this.reached.has(state)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(waiter).reject(
          new Error(
            `call ${this.callId}: ${this.noun}'${state}' not reached within ${timeoutMs} ms (${describe()})`,
          ),
        );
      }, timeoutMs);
      const waiter: Waiter<K> = { state, resolve, reject, timer };
      this.waiters.push(waiter);
    });
  }

  private settle(w: Waiter<K>): Waiter<K> {
    clearTimeout(w.timer);
    this.waiters = this.waiters.filter((x) => x !== w);
    return w;
  }
}
