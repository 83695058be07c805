/**
 * A call's timers: all unref'd (a simulated call never keeps a test process alive) and all
 * cleared at once when the leg ends or the simulator closes.
 */
export class CallTimers {
  private readonly pending = new Set<NodeJS.Timeout>();

  after(ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.pending.delete(timer);
      fn();
    }, ms);
    timer.unref();
    this.pending.add(timer);
    return timer;
  }

  cancel(timer: NodeJS.Timeout | undefined): void {
    if (timer === undefined) return;
    clearTimeout(timer);
    this.pending.delete(timer);
  }

  clear(): void {
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
  }
}
