/**
 * B3's peer: the obvious way to keep call state in Redis — take a lock, GET the snapshot, run
 * the same pure transition, SET it back, release the lock (compare-and-delete, so a slow holder
 * cannot free someone else's lock). Four round trips per event; no dedup, no outbox, no effects,
 * no conflict detection beyond the lock.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { initialTransition, transition } from 'xstate';
import { callMachine, type CallEvent } from '../../machines/call.js';
import { restoreSnapshot } from '../../src/calls/runtime.js';

const UNLOCK = `
-- KEYS[1] lock  ARGV[1] the holder's token
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export function naivePeer(redis: Redis, prefix: string) {
  return async function naiveApply(callId: string, event: CallEvent): Promise<void> {
    const lock = `${prefix}:lock:{${callId}}`;
    const key = `${prefix}:state:{${callId}}`;
    const token = randomUUID();
    if ((await redis.set(lock, token, 'PX', 5000, 'NX')) !== 'OK')
      throw new Error(`call ${callId} is locked`);
    try {
      const json = await redis.get(key);
      const current =
        json === null ? initialTransition(callMachine)[0] : restoreSnapshot(JSON.parse(json));
      const [next] = transition(callMachine, current, event);
      if (next !== current)
        await redis.set(key, JSON.stringify(callMachine.getPersistedSnapshot(next)));
    } finally {
      await redis.eval(UNLOCK, 1, lock, token);
    }
  };
}
