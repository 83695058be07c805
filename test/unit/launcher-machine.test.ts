/**
 * The launcher's transitions (src/process/launcher-machine.ts), without processes: restarts with
 * backoff, no restart after a configuration error, SIGTERM then SIGKILL on the way out.
 */
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/process/exit-codes.js';
import {
  BACKOFF_MS,
  STABLE_AFTER_MS,
  initialState,
  step,
  type LauncherEvent,
  type LauncherState,
  type Step,
} from '../../src/process/launcher-machine.js';

const ROLES = ['ingress', 'workers', 'media'];

/** Runs `events` from a started launcher; returns the last step and all commands seen. */
function run(...events: LauncherEvent[]): Step & { all: Step['commands'] } {
  let last = step(initialState(ROLES), { type: 'start', at: 0 });
  const all = [...last.commands];
  for (const e of events) {
    last = step(last.state, e);
    all.push(...last.commands);
  }
  return { ...last, all };
}

const exited = (role: string, code: number | null, at: number): LauncherEvent => ({
  type: 'child-exited',
  role,
  code,
  at,
});
const phase = (s: LauncherState) => s.phase;

describe('launcher state machine', () => {
  it('spawns every role on start', () => {
    const { state, commands } = run();
    expect(commands).toEqual(ROLES.map((role) => ({ type: 'spawn', role })));
    expect(Object.values(state.children).map((c) => c.state)).toEqual([
      'running',
      'running',
      'running',
    ]);
  });

  it('restarts a crashed child after a backoff that grows while it keeps crashing', () => {
    const delays: number[] = [];
    let s = run().state;
    let at = 0;
    for (let i = 0; i < BACKOFF_MS.length + 2; i++) {
      at += 100;
      const crashed = step(s, exited('workers', 1, at));
      expect(crashed.state.children.workers).toMatchObject({ state: 'backoff' });
      const [restart] = crashed.commands;
      if (restart?.type !== 'restart-later') throw new Error('expected restart-later');
      delays.push(restart.delayMs);
      at += restart.delayMs;
      const due = step(crashed.state, { type: 'restart-due', role: 'workers', at });
      expect(due.commands).toEqual([{ type: 'spawn', role: 'workers' }]);
      s = due.state;
    }
    // a crash soon after a start is already one in a row: the first restart waits BACKOFF_MS[1]
    const last = BACKOFF_MS.at(-1);
    expect(delays).toEqual([...BACKOFF_MS.slice(1), last, last, last]);
    expect(phase(s)).toBe('running');
  });

  it('starts the backoff over for a child that ran long enough before dying', () => {
    let s = run(exited('media', null, 10)).state;
    s = step(s, { type: 'restart-due', role: 'media', at: 1000 }).state;
    const later = step(s, exited('media', 1, 1000 + STABLE_AFTER_MS));
    expect(later.commands).toEqual([
      { type: 'restart-later', role: 'media', delayMs: BACKOFF_MS[0], code: 1 },
    ]);
  });

  it('does not restart a child that exited 2 (configuration error): stops the rest, exits 2', () => {
    const refused = run(exited('ingress', EXIT.config, 50));
    expect(phase(refused.state)).toBe('stopping');
    expect(refused.commands).toEqual([
      { type: 'terminate', role: 'workers' },
      { type: 'terminate', role: 'media' },
      { type: 'arm-kill-deadline' },
    ]);
    const done = run(
      exited('ingress', EXIT.config, 50),
      exited('workers', 0, 60),
      exited('media', 0, 70),
    );
    expect(done.all.some((c) => c.type === 'restart-later' || c.type === 'kill')).toBe(false);
    expect(done.commands).toEqual([{ type: 'exit', code: EXIT.config }]);
    expect(phase(done.state)).toBe('stopped');
  });

  it('SIGTERM: terminates every child, exits 0 once the last one is gone', () => {
    const signalled = run({ type: 'signal', signal: 'SIGTERM' });
    expect(signalled.commands).toEqual([
      ...ROLES.map((role) => ({ type: 'terminate', role })),
      { type: 'arm-kill-deadline' },
    ]);
    const two = run(
      { type: 'signal', signal: 'SIGTERM' },
      exited('ingress', 0, 1),
      exited('media', 0, 2),
    );
    expect(two.commands).toEqual([]);
    const all = run(
      { type: 'signal', signal: 'SIGTERM' },
      exited('ingress', 0, 1),
      exited('media', 0, 2),
      exited('workers', 0, 3),
    );
    expect(all.commands).toEqual([{ type: 'exit', code: EXIT.ok }]);
  });

  it('SIGTERM drops a pending restart: the child in backoff is not spawned again', () => {
    const s = run(exited('workers', 1, 5), { type: 'signal', signal: 'SIGTERM' });
    expect(s.commands.filter((c) => c.type === 'terminate').map((c) => c.role)).toEqual([
      'ingress',
      'media',
    ]);
    const due = step(s.state, { type: 'restart-due', role: 'workers', at: 300 });
    expect(due.commands).toEqual([]);
  });

  it('kills the children left at the kill deadline, and on a second signal, and exits 1', () => {
    for (const last of [
      { type: 'kill-deadline' } as const,
      { type: 'signal', signal: 'SIGINT' } as const,
    ]) {
      const s = run({ type: 'signal', signal: 'SIGTERM' }, exited('ingress', 0, 1), last);
      expect(s.commands).toEqual([
        { type: 'kill', role: 'workers' },
        { type: 'kill', role: 'media' },
        { type: 'exit', code: EXIT.fatal },
      ]);
      expect(phase(s.state)).toBe('stopped');
      // nothing happens after the exit, whatever comes late
      expect(step(s.state, exited('workers', null, 9)).commands).toEqual([]);
    }
  });

  it('exits at once when a signal comes while every child waits for its restart', () => {
    const s = run(exited('ingress', 1, 1), exited('workers', 1, 1), exited('media', 1, 1), {
      type: 'signal',
      signal: 'SIGTERM',
    });
    expect(s.commands).toEqual([{ type: 'exit', code: EXIT.ok }]);
  });
});
