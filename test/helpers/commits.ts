/** Commits of a stand-in call, for tests of the store and the sweepers below the machine. */
import type { CommitRequest, DeferredStart } from '../../src/calls/snapshot-store.js';
import { QUEUE } from '../../src/queues/jobs.js';

/** The first commit of a call whose snapshot no machine reads (`{ fake: true }`). */
export const fakeFirstCommit = (
  callId: string,
  rest: Omit<Partial<CommitRequest>, 'callId'> & Pick<CommitRequest, 'effects'>,
): CommitRequest => ({
  callId,
  expectedVersion: 0,
  snapshot: { fake: true },
  state: 'answering',
  done: false,
  persist: false,
  ...rest,
});

/** A keep-alive timer start of generation `gen` due at `fireAt`. */
export const keepAliveStart = (
  callId: string,
  gen: number,
  fireAt: number,
): DeferredStart['effect'] => ({
  queue: QUEUE.timers,
  name: 'keepAlive',
  jobId: `${callId}-keepAlive-g${gen}`,
  data: { callId, timerId: 'keepAlive', event: 'TIMER.KEEPALIVE_DUE', gen },
  fireAt,
});
