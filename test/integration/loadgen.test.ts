/**
 * The load generator (`npm run loadgen`) as a user runs it: a process of its own with its own
 * simulator, against a real ingress and workers configured to trust that simulator. A clean run
 * prints the summary and exits 0; a deployment that answers nothing exits 1; bad arguments
 * exit 2 with a message naming the flag.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/dev/local-redis.js';
import { simulatorUrls } from '../../src/dev/loadgen/cli.js';
import { BOT_APP_ID, BOT_APP_SECRET, startSystem, type System } from '../helpers/system.js';
import { entryArgs } from '../helpers/role-bundles.js';

let system: System | undefined;
afterEach(async () => {
  await system?.close();
  system = undefined;
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function loadgen(args: string[]): Promise<Run> {
  const child = spawn(process.execPath, [...entryArgs('src/dev/loadgen/main.ts'), ...args], {
    env: {
      ...process.env,
      BOT_APP_ID,
      BOT_APP_SECRET,
      SIM_TLS_CERT_FILE: process.env.TEST_CERT_FILE,
      SIM_TLS_KEY_FILE: process.env.TEST_KEY_FILE,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

/** The value of a summary row, e.g. `| mishandled calls | 0 |` → '0'. */
const cell = (stdout: string, label: string): string | undefined =>
  stdout
    .split('\n')
    .find((line) => line.startsWith(`| ${label}`))
    ?.split('|')[2]
    ?.trim();

/** A system whose ingress and workers trust the simulator the load generator will start. */
async function systemFor(simPort: number, withWorkers = true): Promise<{ target: string }> {
  system = await startSystem({ name: 'loadgen', env: simulatorUrls(simPort), withWorkers });
  return { target: `http://127.0.0.1:${system.env.PORT}/api/calling` };
}

describe('npm run loadgen', () => {
  it('drives calls through a real ingress and workers and exits 0 when all were handled', async () => {
    const simPort = await freePort();
    const { target } = await systemFor(simPort);
    const run = await loadgen([
      '--target',
      target,
      '--sim-port',
      String(simPort),
      '--rate',
      '4',
      '--duration',
      '2',
      '--hold',
      '1.5',
      '--roster-churn',
      '2',
      '--duplicates',
      '0.25',
      '--mix',
      'p2p:1,meeting:1',
    ]);
    expect(run.stderr).toMatch(/loadgen \d+ s: placed \d+, answered \d+/);
    expect(cell(run.stdout, 'calls offered')).toBe('8 (4/s for 2 s)');
    expect(cell(run.stdout, 'answered and ended well')).toBe('8');
    expect(cell(run.stdout, 'mishandled calls')).toBe('0');
    expect(cell(run.stdout, 'answer latency p50')).toMatch(
      /^\d+ ms \/ \d+ ms \/ \d+ ms \/ \d+ ms$/,
    );
    expect(run.code).toBe(0);
    // invites, states, rosters, hang-ups, and the duplicated copies of 2 calls: all 2xx
    const [sent, refused] = cell(run.stdout, 'notifications sent')!.split(' / ').map(Number);
    expect(sent).toBeGreaterThan(8 * 6);
    expect(refused).toBe(0);
  }, 60_000);

  it('exits 1 when the deployment misses answers (no workers: nobody answers)', async () => {
    const simPort = await freePort();
    const { target } = await systemFor(simPort, false);
    const run = await loadgen([
      '--target',
      target,
      '--sim-port',
      String(simPort),
      '--no-progress',
      '--rate',
      '2',
      '--duration',
      '1',
      '--answer-deadline',
      '800',
    ]);
    expect(cell(run.stdout, 'missed (no answer within 800 ms)')).toBe('2');
    expect(cell(run.stdout, 'mishandled calls')).toBe('2');
    expect(run.stdout).toContain('not answered');
    expect(run.stderr).not.toMatch(/placed/);
    expect(run.code).toBe(1);
  }, 60_000);

  it('refuses bad arguments with exit 2 and a message naming the flag', async () => {
    const bad = await loadgen(['--target', 'http://127.0.0.1:1/api/calling', '--rate', '5000']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--rate must be between 0 and 2000, got 5000');
    const missing = await loadgen(['--rate', '5']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--target is required');
  }, 30_000);
});
