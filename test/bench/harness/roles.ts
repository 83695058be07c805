/**
 * Orchestrator roles as real processes, as test/chaos/replicas.test.ts runs them (`node --import
 * tsx`), with stop = SIGTERM, then SIGKILL after a grace period. Only processes started here are
 * ever signalled, each by its own handle.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { sleep } from './repeat.js';

/**
 * Node's preloads for every process a benchmark starts: tsx, and the guard that ends the process
 * once its benchmark is gone (./orphan-guard.ts).
 */
export const BENCH_IMPORTS = [
  '--import',
  'tsx',
  '--import',
  pathToFileURL(`${import.meta.dirname}/orphan-guard.ts`).href,
];

export interface RoleProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** SIGTERM; SIGKILL if still alive after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** `kill -9` on purpose (a failover benchmark): resolves once it is gone. */
  kill(): Promise<void>;
}

/** Extra Node flags for every role process (`run.ts --cpu-prof DIR` sets them). */
const roleNodeArgs: string[] = [];

/** Profile every role process started from now on; profiles are written to `dir` at exit. */
export function profileRoles(dir: string): void {
  roleNodeArgs.push('--cpu-prof', `--cpu-prof-dir=${dir}`);
}

export function startRole(name: string, file: string, env: Record<string, string>): RoleProcess {
  let stopping = false;
  const child = spawn(process.execPath, [...roleNodeArgs, ...BENCH_IMPORTS, file], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child.once('exit', (code, signal) => {
    if (!stopping) console.error(`bench: ${name} exited unexpectedly (${code ?? signal})`);
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    name,
    child,
    async kill() {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop(graceMs = 5000) {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const done = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
      if (!done) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** Poll `check` until it yields a value, or fail after `timeoutMs`. */
export async function until<T>(
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** Resolves once `GET url/readyz` answers 200. */
export function ready(url: string, timeoutMs = 60_000): Promise<true> {
  return until(
    async () => {
      const res = await fetch(`${url}/readyz`).catch(() => undefined);
      await res?.body?.cancel();
      return res?.status === 200 ? true : undefined;
    },
    timeoutMs,
    `${url} ready`,
  );
}
