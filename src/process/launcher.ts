/**
 * `npm start`: the whole orchestrator on one machine. Each role runs as its own child process
 * (as it would in a scaled deployment); what happens when a child dies or a signal comes is
 * decided by the state machine in ./launcher-machine.ts, this file only carries out its
 * commands. Children get SHUTDOWN_GRACE_MS to stop (they force their own exit then); whatever
 * is still running KILL_MARGIN_MS later is sent SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkConfigFiles, loadConfig, telemetrySettings } from '../config.js';
import { createLogger } from '../logger.js';
import { EXIT } from './exit-codes.js';
import { exitOnStartupError } from './fatal.js';
import {
  initialState,
  step,
  type LauncherCommand,
  type LauncherEvent,
} from './launcher-machine.js';
import { KILL_MARGIN_MS } from './shutdown.js';

// the roles sit beside the launcher as it runs: .ts under tsx, .js compiled, .mjs bundled
const ext = extname(fileURLToPath(import.meta.url));
const config = (() => {
  try {
    const loaded = loadConfig();
    checkConfigFiles(loaded);
    return loaded;
  } catch (error) {
    return exitOnStartupError('launcher')(error);
  }
})();
const files: Record<string, string> = {
  ingress: fileURLToPath(new URL(`../roles/ingress/main${ext}`, import.meta.url)),
  workers: fileURLToPath(new URL(`../../workers/main${ext}`, import.meta.url)),
  // the media process needs its TLS certificate; without one this machine records nothing
  ...(config.mediaTlsCertFile
    ? { media: fileURLToPath(new URL(`../roles/media/main${ext}`, import.meta.url)) }
    : {}),
};
// One machine, one PROMETHEUS_PORT: each role serves /metrics on its own port, in this order
// from the configured one up (ingress = PROMETHEUS_PORT, workers = +1, media = +2).
const METRICS_PORT_ORDER = ['ingress', 'workers', 'media'];
const prometheus = (() => {
  try {
    return telemetrySettings().prometheus;
  } catch (error) {
    return exitOnStartupError('launcher')(error);
  }
})();
const roleEnv = (role: string): NodeJS.ProcessEnv =>
  prometheus
    ? {
        ...process.env,
        PROMETHEUS_PORT: String(prometheus.port + METRICS_PORT_ORDER.indexOf(role)),
      }
    : process.env;
const logger = createLogger('launcher', config.logLevel);
if (!files.media)
  logger.warn('MEDIA_TLS_CERT_FILE is not set: no media process, nothing is recorded');

let state = initialState(Object.keys(files));
const children = new Map<string, ChildProcess>();

function dispatch(event: LauncherEvent): void {
  const next = step(state, event);
  state = next.state;
  for (const command of next.commands) perform(command);
}

function perform(command: LauncherCommand): void {
  switch (command.type) {
    case 'spawn': {
      const { role } = command;
      const child = spawn(process.execPath, [...process.execArgv, files[role]!], {
        stdio: 'inherit',
        env: roleEnv(role),
        // a process group of its own: Ctrl-C in a terminal signals the whole foreground group,
        // and a child that got it from there too would take the launcher's SIGTERM as a second
        // signal and exit at once instead of draining
        detached: true,
      });
      children.set(role, child);
      child.on('error', (err) => logger.error({ err, role }, 'could not start role'));
      child.on('exit', (code, signal) => {
        children.delete(role);
        if (state.phase === 'running' && code === EXIT.config)
          logger.error({ role }, 'role refused its configuration; stopping');
        else if (state.phase === 'running') logger.error({ role, code, signal }, 'role exited');
        dispatch({ type: 'child-exited', role, code, at: Date.now() });
      });
      return;
    }
    case 'restart-later':
      logger.error({ role: command.role, restartInMs: command.delayMs }, 'restarting role');
      setTimeout(
        () => dispatch({ type: 'restart-due', role: command.role, at: Date.now() }),
        command.delayMs,
      );
      return;
    case 'terminate':
      children.get(command.role)?.kill('SIGTERM');
      return;
    case 'kill':
      children.get(command.role)?.kill('SIGKILL');
      return;
    case 'arm-kill-deadline':
      setTimeout(
        () => dispatch({ type: 'kill-deadline' }),
        config.shutdownGraceMs + KILL_MARGIN_MS,
      ).unref();
      return;
    case 'exit':
      process.exit(command.code);
  }
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    logger.info({ signal }, 'stopping roles');
    dispatch({ type: 'signal', signal });
  });
}
dispatch({ type: 'start', at: Date.now() });
