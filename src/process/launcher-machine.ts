/**
 * The launcher of `npm start` as a state machine of its own, kept pure so its transitions are
 * tested without processes (test/unit/launcher-machine.test.ts): `step(state, event)` returns
 * the next state and the commands for src/process/launcher.ts to carry out.
 *
 * running  ── child exits (not 2) ──▶ that child waits its backoff, then is spawned again
 * running  ── child exits 2 ───────▶ stopping (exit code 2: a configuration error is not cured
 *                                     by restarting)
 * running  ── SIGTERM/SIGINT ──────▶ stopping (exit code 0): SIGTERM to every child, SIGKILL
 *                                     to those left when the kill deadline passes
 * stopping ── last child exited ───▶ stopped, exit with the code chosen on entering stopping
 * stopping ── second signal or kill deadline ▶ stopped: SIGKILL the rest, exit 1
 */
import { EXIT, type ExitCode } from './exit-codes.js';

/** Delay before the n-th restart in a row of a child (the last entry repeats). */
export const BACKOFF_MS: readonly number[] = [250, 500, 1000, 2000, 5000];
/** A child that ran this long before dying starts its backoff over. */
export const STABLE_AFTER_MS = 30_000;

export type ChildState =
  | { state: 'running'; startedAt: number; streak: number }
  | { state: 'backoff'; streak: number }
  | { state: 'exited' };

export interface LauncherState {
  phase: 'running' | 'stopping' | 'stopped';
  /** The exit code of the launcher once every child is gone. */
  exitCode: ExitCode;
  children: Readonly<Record<string, ChildState>>;
}

export type LauncherEvent =
  | { type: 'start'; at: number }
  | { type: 'child-exited'; role: string; code: number | null; at: number }
  | { type: 'restart-due'; role: string; at: number }
  | { type: 'signal'; signal: NodeJS.Signals }
  | { type: 'kill-deadline' };

export type LauncherCommand =
  | { type: 'spawn'; role: string }
  | { type: 'restart-later'; role: string; delayMs: number; code: number | null }
  | { type: 'terminate'; role: string }
  | { type: 'kill'; role: string }
  | { type: 'arm-kill-deadline' }
  | { type: 'exit'; code: ExitCode };

export interface Step {
  state: LauncherState;
  commands: LauncherCommand[];
}

export function initialState(roles: readonly string[]): LauncherState {
  return {
    phase: 'running',
    exitCode: EXIT.ok,
    children: Object.fromEntries(roles.map((r) => [r, { state: 'exited' }])),
  };
}

const running = (s: LauncherState) =>
  Object.keys(s.children).filter((r) => s.children[r]?.state === 'running');

export function backoffDelay(streak: number): number {
  return BACKOFF_MS[Math.min(streak, BACKOFF_MS.length - 1)] ?? 5000;
}

export function step(s: LauncherState, e: LauncherEvent): Step {
  if (s.phase === 'stopped') return { state: s, commands: [] };
  switch (e.type) {
    case 'start': {
      if (s.phase !== 'running') return { state: s, commands: [] };
      const roles = Object.keys(s.children);
      return {
        state: {
          ...s,
          children: Object.fromEntries(
            roles.map((r) => [r, { state: 'running', startedAt: e.at, streak: 0 }]),
          ),
        },
        commands: roles.map((role) => ({ type: 'spawn', role })),
      };
    }
    case 'child-exited': {
      const child = s.children[e.role];
      if (child?.state !== 'running') return { state: s, commands: [] };
      const children = { ...s.children, [e.role]: { state: 'exited' } as ChildState };
      if (s.phase === 'stopping') return stopIfEmpty({ ...s, children });
      if (e.code === EXIT.config) return stop({ ...s, children }, EXIT.config);
      const streak = e.at - child.startedAt >= STABLE_AFTER_MS ? 0 : child.streak + 1;
      return {
        state: { ...s, children: { ...children, [e.role]: { state: 'backoff', streak } } },
        commands: [
          { type: 'restart-later', role: e.role, delayMs: backoffDelay(streak), code: e.code },
        ],
      };
    }
    case 'restart-due': {
      const child = s.children[e.role];
      if (s.phase !== 'running' || child?.state !== 'backoff') return { state: s, commands: [] };
      return {
        state: {
          ...s,
          children: {
            ...s.children,
            [e.role]: { state: 'running', startedAt: e.at, streak: child.streak },
          },
        },
        commands: [{ type: 'spawn', role: e.role }],
      };
    }
    case 'signal':
      return s.phase === 'running' ? stop(s, EXIT.ok) : killAll(s);
    case 'kill-deadline':
      return killAll(s);
  }
}

/** Enter stopping: children waiting for a restart are dropped, the running ones asked to stop. */
function stop(s: LauncherState, exitCode: ExitCode): Step {
  const children = Object.fromEntries(
    Object.entries(s.children).map(([r, c]) => [
      r,
      c.state === 'backoff' ? { state: 'exited' } : c,
    ]),
  ) as Record<string, ChildState>;
  const next: LauncherState = { phase: 'stopping', exitCode, children };
  const alive = running(next);
  if (alive.length === 0) return stopIfEmpty(next);
  return {
    state: next,
    commands: [
      ...alive.map((role): LauncherCommand => ({ type: 'terminate', role })),
      { type: 'arm-kill-deadline' },
    ],
  };
}

function stopIfEmpty(s: LauncherState): Step {
  if (running(s).length > 0) return { state: s, commands: [] };
  return { state: { ...s, phase: 'stopped' }, commands: [{ type: 'exit', code: s.exitCode }] };
}

/** Second signal or a child past its deadline: SIGKILL what is left and exit 1. */
function killAll(s: LauncherState): Step {
  return {
    state: { ...s, phase: 'stopped', exitCode: EXIT.fatal },
    commands: [
      ...running(s).map((role): LauncherCommand => ({ type: 'kill', role })),
      { type: 'exit', code: EXIT.fatal },
    ],
  };
}
