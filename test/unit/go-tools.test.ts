/**
 * `npm run tools` on a machine without Go: it says what is missing and how to get it, and fails
 * (so `npm run test:e2e`, whose setup builds the same way, fails instead of skipping).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('npm run tools', () => {
  it('fails with a clear hint when go is not on PATH', () => {
    // a PATH with node and nothing else
    const bin = mkdtempSync(join(tmpdir(), 'cr-nogo-'));
    try {
      symlinkSync(process.execPath, join(bin, 'node'));
      const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/dev/tools-main.ts'], {
        encoding: 'utf8',
        env: { ...process.env, PATH: bin },
      });
      expect(run.status).toBe(1);
      expect(run.stderr).toContain('go was not found on PATH');
      expect(run.stderr).toContain('Go 1.26 or newer');
      expect(run.stderr).toContain('https://go.dev/doc/install');
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});
