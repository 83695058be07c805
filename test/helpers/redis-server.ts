/**
 * A private `redis-server` that a test may stop, restart and freeze: one loopback port and one
 * data directory for its whole life, with an append-only file fsynced on every write, so a
 * restart on the same port comes back with everything that was acknowledged before the stop.
 * (`src/dev/local-redis.ts` picks a new port and deletes its directory on every stop.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REDIS_INSTALL_HINT, freePort, pingRedis } from '../../src/dev/local-redis.js';

export interface RedisServer {
  /** redis://127.0.0.1:PORT, the same across restarts. */
  readonly url: string;
  readonly port: number;
  /** True while the process runs (paused or not). */
  readonly running: boolean;
  /** SIGTERM (Redis writes its AOF and exits); resolves once the process is gone. */
  stop(): Promise<void>;
  /** Start again on the same port and directory; resolves once it answers PING. */
  start(): Promise<void>;
  /** SIGSTOP: connections stay open, nothing is answered (a hung Redis). */
  pause(): void;
  /** SIGCONT after `pause()`. */
  resume(): void;
  /** Stop (SIGKILL after 5 s) and remove the directory. Memoized. */
  close(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
  });
}

export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'cr-redis-faults-'));
  let child: ChildProcess | undefined;
  let paused = false;
  let closed: Promise<void> | undefined;

  const launch = async (): Promise<void> => {
    const c = spawn(
      'redis-server',
      [
        ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir],
        ...['--save', '', '--appendonly', 'yes', '--appendfsync', 'always'],
        ...['--maxmemory-policy', 'noeviction'],
      ],
      { stdio: 'ignore' },
    );
    child = c;
    const failed = new Promise<Error>((resolve) => c.once('error', resolve));
    for (let i = 0; i < 200; i += 1) {
      const error = await Promise.race([
        failed,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 25)),
      ]);
      if (error) {
        const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
        throw new Error(missing ? REDIS_INSTALL_HINT : `redis-server failed: ${error.message}`);
      }
      if (c.exitCode !== null) throw new Error(`redis-server on port ${port} exited at start`);
      if (await pingRedis('127.0.0.1', port, 200)) return;
    }
    c.kill('SIGKILL');
    throw new Error(`redis-server did not answer on port ${port}`);
  };

  const stop = async (): Promise<void> => {
    const c = child;
    if (!c) return;
    if (paused) {
      c.kill('SIGCONT');
      paused = false;
    }
    const hard = setTimeout(() => c.kill('SIGKILL'), 5000);
    c.kill('SIGTERM');
    await exited(c);
    clearTimeout(hard);
    child = undefined;
  };

  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get running() {
      return child !== undefined;
    },
    stop,
    start: async () => {
      if (child) throw new Error('redis-server is already running');
      await launch();
    },
    pause() {
      if (!child || paused) return;
      child.kill('SIGSTOP');
      paused = true;
    },
    resume() {
      if (!child || !paused) return;
      child.kill('SIGCONT');
      paused = false;
    },
    close: () =>
      (closed ??= (async () => {
        await stop();
        await rm(dir, { recursive: true, force: true });
      })()),
  };
}
