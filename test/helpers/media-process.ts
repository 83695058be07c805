/** The media role as a child process (`src/media/main.ts`), for tests that kill it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect as netConnect } from 'node:net';
import { eventually } from './system.js';

export interface MediaProcess {
  child: ChildProcess;
  /** The exit code (null when killed by a signal). */
  exit: Promise<number | null>;
}

/** Starts `src/media/main.ts` with `env` (logs at warn) and keeps it in `children`. */
export function startMediaProcess(
  env: Record<string, string>,
  children: ChildProcess[],
): MediaProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/media/main.ts'], {
    env: { ...process.env, ...env, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exit };
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`. */
export async function listening(port: number): Promise<void> {
  await eventually(
    () =>
      new Promise<true | undefined>((resolve) => {
        const s = netConnect(port, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(undefined));
      }),
    15_000,
    'the media process to listen',
  );
}

/** SIGKILL every child still running; resolves once they all exited. */
export async function killAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGKILL');
        }),
    ),
  );
}
