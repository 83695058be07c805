/**
 * `npm start`: the whole orchestrator on one machine. Each role runs as its own child process
 * (as it would in a scaled deployment), restarted with capped backoff when it dies; SIGTERM is
 * passed on and, after a grace period, followed by SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config.js';
import { exitOnStartupError } from './fatal.js';
import { createLogger } from '../logger.js';

const here = fileURLToPath(import.meta.url);
const ext = here.endsWith('.ts') ? '.ts' : '.js';
const config = (() => {
  try {
    return loadConfig();
  } catch (error) {
    return exitOnStartupError('launcher')(error);
  }
})();
const roles: Record<string, string> = {
  ingress: fileURLToPath(new URL(`../roles/ingress/main${ext}`, import.meta.url)),
  workers: fileURLToPath(new URL(`../../workers/main${ext}`, import.meta.url)),
  // the media process needs its TLS certificate; without one this machine records nothing
  ...(config.mediaTlsCertFile
    ? { media: fileURLToPath(new URL(`../roles/media/main${ext}`, import.meta.url)) }
    : {}),
};
const BACKOFF_MS = [250, 500, 1000, 2000, 5000];
const GRACE_MS = 15_000;
const logger = createLogger('launcher', config.logLevel);
if (!roles.media)
  logger.warn('MEDIA_TLS_CERT_FILE is not set: no media process, nothing is recorded');

let stopping = false;
let exitStatus = 0;
const children = new Map<string, ChildProcess>();

function start(role: string, file: string, failures = 0): void {
  if (stopping) return;
  const child = spawn(process.execPath, [...process.execArgv, file], {
    stdio: 'inherit',
    env: process.env,
  });
  children.set(role, child);
  const startedAt = Date.now();
  child.on('error', (err) => logger.error({ err, role }, 'could not start role'));
  child.on('exit', (code, signal) => {
    children.delete(role);
    if (stopping) {
      if (children.size === 0) process.exit(exitStatus);
      return;
    }
    if (code === 2) {
      // a configuration error: restarting cannot help
      logger.error({ role }, 'role refused its configuration; stopping');
      stop('SIGTERM', 2);
      return;
    }
    const streak = Date.now() - startedAt > 30_000 ? 0 : failures + 1;
    const delay = BACKOFF_MS[Math.min(streak, BACKOFF_MS.length - 1)] ?? 5000;
    logger.error({ role, code, signal, restartInMs: delay }, 'role exited; restarting');
    setTimeout(() => start(role, file, streak), delay);
  });
}

function stop(signal: NodeJS.Signals, exitCode = 0): void {
  if (stopping) {
    for (const child of children.values()) child.kill('SIGKILL');
    process.exit(1);
  }
  stopping = true;
  exitStatus = exitCode;
  logger.info({ signal }, 'stopping roles');
  if (children.size === 0) process.exit(exitCode);
  for (const child of children.values()) child.kill('SIGTERM');
  setTimeout(() => {
    for (const child of children.values()) child.kill('SIGKILL');
    process.exit(1);
  }, GRACE_MS).unref();
}

process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
for (const [role, file] of Object.entries(roles)) start(role, file);
