/**
 * Hostile orderings: random interleavings, duplicates and late arrivals of one
 * call's notifications, thrown at `applyEvent` from three runtimes (three "replicas", each with
 * its own mutex) at once, against a real Redis. The final state must be the one the ordered
 * sequence gives, the version must count exactly the accepted events, and each Graph effect
 * must be enqueued exactly once.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { callMachine, type CallEvent } from '../../machines/call.js';
import { stateName } from '../../src/calls/runtime.js';
import { createCore, type Core } from '../../src/roles/core.js';
import { incoming, participant } from '../helpers/call-events.js';
import { deleteByPrefix, plainRedis, testRedisUrl, uniquePrefix } from '../helpers/redis.js';

const prefix = uniquePrefix('orderings');
const cores: Core[] = [];
let redis: Redis;
let runs = 0;

beforeAll(async () => {
  for (let i = 0; i < 3; i += 1) {
    const core = createCore(
      { redisUrl: testRedisUrl(), redisKeyPrefix: prefix },
      pino({ level: 'silent' }),
    );
    await core.ready();
    cores.push(core);
  }
  redis = plainRedis();
});
afterAll(async () => {
  await cores[0]?.queues.graph.obliterate({ force: true });
  await cores[0]?.queues.timers.obliterate({ force: true });
  await Promise.all(cores.map((c) => c.close()));
  await deleteByPrefix(redis, prefix);
  await redis.quit();
});

interface Delivery {
  event: CallEvent;
  /** What the ingress would derive from the notification content. */
  dedupId: string;
}

const T0 = Date.now();
/** The notifications of one call after its invite, in the order Teams meant them. */
function afterInvite(withEnd: boolean): Delivery[] {
  const list: Delivery[] = [
    { dedupId: 'ans', event: { type: 'GRAPH.ANSWER_ACCEPTED', at: T0 + 10, attempts: 1 } },
    { dedupId: 'est1', event: { type: 'CALL.ESTABLISHING', at: T0 + 20 } },
    { dedupId: 'est2', event: { type: 'CALL.ESTABLISHED', at: T0 + 30 } },
    {
      dedupId: 'r1',
      event: {
        type: 'CALL.ROSTER',
        at: T0 + 40,
        update: { mode: 'full', participants: [participant('a', 1)] },
      },
    },
    {
      dedupId: 'r2',
      event: {
        type: 'CALL.ROSTER',
        at: T0 + 50,
        update: { mode: 'full', participants: [participant('a', 1), participant('b', 2)] },
      },
    },
    {
      dedupId: 'r3',
      event: {
        type: 'CALL.ROSTER',
        at: T0 + 60,
        update: { mode: 'delta', participants: [participant('b', 3, { muted: true })] },
      },
    },
    {
      dedupId: 'r4',
      event: {
        type: 'CALL.ROSTER',
        at: T0 + 70,
        update: { mode: 'removed', participants: [participant('a', 4)] },
      },
    },
    {
      dedupId: 'r5',
      event: {
        type: 'CALL.ROSTER',
        at: T0 + 80,
        update: { mode: 'delta', participants: [participant('c', 5, { kind: 'phone' })] },
      },
    },
  ];
  if (withEnd) {
    list.push({
      dedupId: 'end',
      event: {
        type: 'CALL.TERMINATED',
        at: T0 + 90,
        resultInfo: { code: 200, subcode: 4097, message: 'bye' },
      },
    });
  }
  return list;
}

function orderedOutcome(callId: string, deliveries: Delivery[]) {
  let [s] = initialTransition(callMachine);
  for (const d of [{ event: incoming(callId, T0) as CallEvent }, ...deliveries])
    s = transition(callMachine, s, d.event)[0];
  return s;
}

/** A schedule: the notifications shuffled, some delivered again, each by one of three replicas. */
const schedule = (withEnd: boolean) =>
  fc
    .tuple(
      fc.shuffledSubarray(afterInvite(withEnd), { minLength: afterInvite(withEnd).length }),
      fc.array(fc.nat(afterInvite(withEnd).length - 1), { maxLength: 6 }),
    )
    .chain(([shuffled, dupIndexes]) => {
      const deliveries = [...shuffled, ...dupIndexes.map((i) => shuffled[i]!)];
      return fc.tuple(
        fc.shuffledSubarray(deliveries, { minLength: deliveries.length }),
        fc.array(fc.nat(2), { minLength: deliveries.length, maxLength: deliveries.length }),
      );
    });

async function play(callId: string, deliveries: Delivery[], replicas: number[]) {
  await cores[0]!.runtime.applyEvent(callId, incoming(callId, T0), { dedupId: 'invite' });
  const perReplica: Delivery[][] = [[], [], []];
  deliveries.forEach((d, i) => perReplica[replicas[i]!]!.push(d));
  const results = await Promise.all(
    perReplica.map(async (list, r) => {
      const out = [];
      for (const d of list)
        out.push(await cores[r]!.runtime.applyEvent(callId, d.event, { dedupId: d.dedupId }));
      return out;
    }),
  );
  return results.flat();
}

describe('hostile orderings of one call, three concurrent replicas', () => {
  it('live calls end in the ordered state with every roster change, counted once', async () => {
    await fc.assert(
      fc.asyncProperty(schedule(false), async ([deliveries, replicas]) => {
        const callId = `prop-live-${++runs}`;
        const results = await play(callId, deliveries, replicas);
        const expected = orderedOutcome(callId, afterInvite(false));
        const call = (await cores[1]!.runtime.getCall(callId))!;
        expect(stateName(call.snapshot)).toBe(stateName(expected));
        // the history records when each change arrived, so only it depends on the order
        const { history, ...roster } = call.snapshot.context.roster;
        const { history: _ordered, ...expectedRoster } = expected.context.roster;
        expect(roster).toEqual(expectedRoster);
        for (const id of Object.keys(roster.participants)) {
          expect(history.filter((s) => s.id === id && s.leftAt === undefined)).toHaveLength(1);
        }
        const committed = results.filter((r) => r.outcome === 'committed').length;
        expect(call.version).toBe(1 + committed);
        const jobs = await cores[0]!.queues.graph.getJobs([
          'waiting',
          'active',
          'delayed',
          'completed',
          'failed',
        ]);
        expect(jobs.filter((j) => j.data.callId === callId).map((j) => j.data.op)).toEqual([
          'answer',
        ]);
      }),
      { numRuns: 25 },
    );
  });

  it('calls that end reach terminated with the result code whatever arrives late', async () => {
    await fc.assert(
      fc.asyncProperty(schedule(true), async ([deliveries, replicas]) => {
        const callId = `prop-end-${++runs}`;
        const results = await play(callId, deliveries, replicas);
        const call = (await cores[2]!.runtime.getCall(callId))!;
        expect(call.snapshot.value).toBe('terminated');
        expect(call.snapshot.context.resultInfo).toEqual({
          code: 200,
          subcode: 4097,
          message: 'bye',
        });
        expect(call.version).toBe(1 + results.filter((r) => r.outcome === 'committed').length);
        const jobs = await cores[0]!.queues.graph.getJobs([
          'waiting',
          'active',
          'delayed',
          'completed',
          'failed',
        ]);
        expect(jobs.filter((j) => j.data.callId === callId)).toHaveLength(1);
        // a timer start's check of its cancel rides each replica's next round trip (within its
        // store's ack delay): send what waits, then every timer of a finished call is cancelled
        await Promise.all(cores.map((c) => c.store.flushAcks()));
        const timers = await cores[0]!.queues.timers.getJobs(['delayed', 'waiting']);
        // every timer of a finished call was cancelled
        expect(timers.filter((j) => j.data.callId === callId)).toEqual([]);
      }),
      { numRuns: 25 },
    );
  });
});
