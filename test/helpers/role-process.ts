/**
 * Orchestrator roles as child processes (`src/roles/ingress/main.ts`, `workers/main.ts`, `src/roles/media/main.ts`,
 * `src/process/launcher.ts`), for tests that signal or kill them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect as netConnect } from 'node:net';
import { entryArgs } from './role-bundles.js';
import { eventually } from './system.js';

export interface RoleProcess {
  child: ChildProcess;
  /** The exit code (null when killed by a signal). */
  exit: Promise<number | null>;
  /** What it printed, when started with `capture` (else empty). */
  output: () => string;
}

export interface RoleOptions {
  /** Collect stdout and stderr instead of passing them through. @default false */
  capture?: boolean;
  /** Overrides any LOG_LEVEL in `env`. @default 'warn' */
  logLevel?: string;
}

/** Starts `file` with `env` on top of this process's, and keeps it in `children`. */
export function startRoleProcess(
  file: string,
  env: Record<string, string>,
  children: ChildProcess[],
  options: RoleOptions = {},
): RoleProcess {
  const child = spawn(process.execPath, entryArgs(file), {
    env: { ...process.env, ...env, LOG_LEVEL: options.logLevel ?? 'warn' },
    stdio: options.capture ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exit, output: () => output };
}

/** The media role (`src/roles/media/main.ts`) with `env`. */
export const startMediaProcess = (env: Record<string, string>, children: ChildProcess[]) =>
  startRoleProcess('src/roles/media/main.ts', env, children);

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
