/**
 * Makes sure a Redis is reachable for the demo and the tests: reuse the one at `url` when it
 * answers PING, otherwise start a private `redis-server` (Debian package `redis-server`) on a
 * free loopback port with a temporary directory, and stop it again on `stop()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface LocalRedis {
  url: string;
  /** True when this helper started the server (and `stop()` will end it). */
  started: boolean;
  stop(): Promise<void>;
}

export const REDIS_INSTALL_HINT =
  'redis-server was not found. Install it with: sudo apt-get install -y redis-server ' +
  '(Debian/Ubuntu), or point REDIS_URL at a reachable Redis.';

/** Resolve with true when a Redis at host:port answers PING within `timeoutMs`. */
export function pingRedis(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let buffer = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      if (buffer.includes('\r\n')) done(buffer.startsWith('+PONG'));
    });
    socket.connect(port, host, () => socket.write('PING\r\n'));
  });
}

/**
 * Ports below the ephemeral ranges (Linux 32768+, macOS, BSD and Windows 49152+): outgoing
 * connections and `listen(0)` never take one of these by chance between `freePort()` and the
 * listen it is for, which matters when several test files start servers side by side.
 */
const PORT_POOL = { from: 20_000, to: 32_000 };

/** True when 127.0.0.1:`port` can be listened on right now. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A TCP port that was free a moment ago on 127.0.0.1 (a random one of `PORT_POOL`). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const port = PORT_POOL.from + randomInt(PORT_POOL.to - PORT_POOL.from);
    if (await canListen(port)) return port;
  }
  return anyFreePort();
}

/** Whatever port the system hands out (the fallback when the pool seems taken). */
function anyFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Reuse the Redis at `url` if it answers, else start a private one.
 * @param url @default 'redis://127.0.0.1:6379'
 * @param forcePrivate start a private server even if `url` answers (tests that stop Redis).
 */
export async function ensureRedis(
  url = 'redis://127.0.0.1:6379',
  forcePrivate = false,
): Promise<LocalRedis> {
  const parsed = new URL(url);
  const host = parsed.hostname || '127.0.0.1';
  const port = Number(parsed.port || 6379);
  if (!forcePrivate && (await pingRedis(host, port))) {
    return { url, started: false, stop: () => Promise.resolve() };
  }
  return startPrivateRedis();
}

/** Start `redis-server` on a free loopback port, no persistence, `noeviction`. */
export async function startPrivateRedis(extraArgs: string[] = []): Promise<LocalRedis> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'cr-redis-'));
  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--maxmemory-policy',
      'noeviction',
      ...extraArgs,
    ],
    { stdio: 'ignore' },
  );
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  for (let i = 0; i < 100; i += 1) {
    const failed = await Promise.race([
      spawnError,
      new Promise<undefined>((r) => setTimeout(r, 50, undefined)),
    ]);
    if (failed) {
      await rm(dir, { recursive: true, force: true });
      const missing = (failed as NodeJS.ErrnoException).code === 'ENOENT';
      throw new Error(missing ? REDIS_INSTALL_HINT : `redis-server failed: ${failed.message}`);
    }
    if (child.exitCode !== null) break;
    if (await pingRedis('127.0.0.1', port)) {
      let stopped: Promise<void> | undefined;
      return {
        url: `redis://127.0.0.1:${port}`,
        started: true,
        stop: () =>
          (stopped ??= new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }).then(() => rm(dir, { recursive: true, force: true }))),
      };
    }
  }
  child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
  throw new Error(`redis-server did not answer on port ${port}`);
}
