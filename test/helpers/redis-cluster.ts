/**
 * A private three-master Redis Cluster on loopback for one test file: three `redis-server
 * --cluster-enabled yes` children on free ports, joined with `redis-cli --cluster create`,
 * without persistence, in a temporary directory that `stop()` removes with the processes.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, pingRedis } from '../../src/dev/local-redis.js';

const run = promisify(execFile);

export interface LocalCluster {
  /** Comma-separated seed URLs, the form of `REDIS_URL` with `REDIS_CLUSTER=true`. */
  url: string;
  /** Client ports of the three masters. */
  ports: number[];
  /** `redis-cli -p <port> <args>` against one node; resolves with its output. */
  cli(port: number, ...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

const INSTALL_HINT =
  'redis-server and redis-cli are needed for the Redis Cluster test. Install them with: ' +
  'sudo apt-get install -y redis-server (Debian/Ubuntu; the package includes redis-cli).';

async function requireBinary(name: string): Promise<void> {
  try {
    await run(name, ['--version']);
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(missing ? `${name} was not found. ${INSTALL_HINT}` : String(error));
  }
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Redis Cluster: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const hard = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(hard);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startRedisCluster(masters = 3): Promise<LocalCluster> {
  await requireBinary('redis-server');
  await requireBinary('redis-cli');
  const dir = await mkdtemp(join(tmpdir(), 'cr-redis-cluster-'));
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= Promise.all(children.map(stopChild)).then(() =>
      rm(dir, { recursive: true, force: true }),
    ));
  const cli = async (port: number, ...args: string[]) =>
    (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args])).stdout;
  try {
    for (let i = 0; i < masters; i += 1) {
      const port = await freePort();
      // The bus port defaults to port + 10000, which can be past 65535 for an ephemeral port.
      const busPort = await freePort();
      ports.push(port);
      const child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-port',
          String(busPort),
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          dir,
          '--daemonize',
          'no',
          '--maxmemory-policy',
          'noeviction',
          '--logfile',
          join(dir, `redis-${port}.log`),
        ],
        { stdio: 'ignore' },
      );
      child.on('error', () => undefined); // a missing binary was ruled out above
      children.push(child);
    }
    for (const port of ports) {
      await until(() => pingRedis('127.0.0.1', port), 5000, `node ${port} to answer PING`);
    }
    try {
      await run(
        'redis-cli',
        [
          '--cluster',
          'create',
          ...ports.map((p) => `127.0.0.1:${p}`),
          '--cluster-replicas',
          '0',
          '--cluster-yes',
        ],
        { timeout: 20_000 },
      );
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string; message: string };
      throw new Error(`redis-cli --cluster create failed: ${e.stderr || e.stdout || e.message}`);
    }
    for (const port of ports) {
      await until(
        async () => (await cli(port, 'cluster', 'info')).includes('cluster_state:ok'),
        15_000,
        `cluster_state:ok on node ${port}`,
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: ports.map((p) => `redis://127.0.0.1:${p}`).join(','),
    ports,
    cli,
    stop,
  };
}
