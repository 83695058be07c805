/** Every shutdown stage's deadline is a part of SHUTDOWN_GRACE_MS (src/process/shutdown.ts). */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { shutdownBudget } from '../../src/process/shutdown.js';

const required = { BOT_APP_ID: 'app', BOT_APP_SECRET: 'secret' };

describe('shutdown budget', () => {
  it('splits the grace into delay, drain and close, which add up to it', () => {
    for (const [grace, delay] of [
      [20_000, 0],
      [20_000, 5000],
      [40_000, 5000],
      [2000, 1000],
      [600_000, 120_000],
    ] as const) {
      const b = shutdownBudget({ shutdownGraceMs: grace, shutdownDelayMs: delay });
      expect(b.delayMs + b.drainMs + b.closeMs).toBe(grace);
      expect(b.delayMs).toBe(delay);
      expect(b.closeMs).toBeGreaterThan(0);
      expect(b.closeMs).toBeLessThanOrEqual(5000);
      expect(b.drainMs).toBeGreaterThanOrEqual(b.closeMs);
    }
  });

  it('defaults: 20 s in all, 15 s to drain, 5 s to close', () => {
    expect(shutdownBudget(loadConfig(required))).toEqual({
      graceMs: 20_000,
      delayMs: 0,
      drainMs: 15_000,
      closeMs: 5000,
    });
  });
});
