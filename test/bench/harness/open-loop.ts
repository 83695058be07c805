/**
 * Open-loop arrivals: arrival i is due at start + i / rate whatever happened to the earlier
 * ones, so a slow system shows up as latency rather than as a lower offered rate (coordinated
 * omission). `fire` must not block; its promise is collected, not awaited between arrivals.
 * The generator's own lateness (due → fired) is reported so a run whose generator fell behind
 * can be told apart from a slow system.
 */
import { summarize, type Summary } from './histogram.js';

export interface OpenLoopOptions {
  ratePerSec: number;
  durationMs: number;
  /** Start arrival `index`; called at (or as soon as possible after) its due time. */
  fire(index: number): Promise<unknown>;
}

export interface OpenLoopResult {
  arrivals: number;
  /** How late arrivals were fired relative to their schedule (ms). */
  lateness: Summary;
  /** Settled outcomes of every `fire`, in arrival order. */
  settled: PromiseSettledResult<unknown>[];
}

export async function openLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const total = Math.max(1, Math.round((options.ratePerSec * options.durationMs) / 1000));
  const intervalMs = 1000 / options.ratePerSec;
  const started = performance.now();
  const lateness: number[] = [];
  const pending: Promise<unknown>[] = [];
  let next = 0;
  while (next < total) {
    const now = performance.now();
    // fire everything that is due (catching up after a late wake-up keeps the rate)
    while (next < total && started + next * intervalMs <= now) {
      lateness.push(now - (started + next * intervalMs));
      pending.push(options.fire(next));
      next += 1;
    }
    if (next < total) {
      const wait = started + next * intervalMs - performance.now();
      await new Promise((r) => setTimeout(r, Math.max(0, wait)));
    }
  }
  return {
    arrivals: total,
    lateness: summarize(lateness),
    settled: await Promise.allSettled(pending),
  };
}
