/**
 * Timer starts due much later stay with their call (a small hash beside its outbox) instead of
 * going to BullMQ at once: a sweeper hands each over shortly before it is due, and a cancel
 * committed before that drops it, so a timer that is disarmed soon costs BullMQ nothing. Real
 * Redis, real BullMQ, the real sweeper and timer processor.
 */
import { Worker, type Job } from 'bullmq';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { CallEvent } from '../../machines/call.js';
import { deferLeadMs } from '../../src/calls/outbox-sweeper.js';
import { QUEUE, type TimerJob } from '../../src/queues/jobs.js';
import { callKeys, outboxIndexKey, queuePrefix } from '../../src/redis/keys.js';
import { createCore } from '../../src/roles/core.js';
import { createTimerProcessor } from '../../workers/timers.js';
import { incoming } from '../helpers/call-events.js';
import { fakeFirstCommit, keepAliveStart } from '../helpers/commits.js';
import { fileCore } from '../helpers/core.js';
import { testRedisUrl } from '../helpers/redis.js';
import { callReaches, eventually, placeEstablished, startSystem } from '../helpers/system.js';

const SWEEP = { outboxSweepIntervalMs: 50, outboxGraceMs: 100 };
/** With SWEEP, a start is deferred when due ≥ 2 × 1,100 ms away, handed over 1,100 ms before. */
const LEAD = deferLeadMs(SWEEP.outboxSweepIntervalMs);

const file = fileCore('deferred', SWEEP);
const { prefix } = file;
let n = 0;

/** An invite whose answer deadline is `inMs` away. */
const inviteDue = (callId: string, inMs: number): CallEvent => {
  const at = Date.now();
  return { ...incoming(callId, at), deadlineAt: at + inMs };
};

const timerJobs = async () => {
  const counts = await file.core.queues.timers.getJobCounts();
  return Object.values(counts).reduce((a, b) => a + b, 0);
};

const indexScore = async (callId: string) =>
  file.redis.zscore(outboxIndexKey(prefix), callId).then((s) => (s === null ? null : Number(s)));

/** A second core on this file's prefix with one setting changed (what another build writes). */
async function coreWith(setting: { packSnapshots?: boolean; deferTimers?: boolean }) {
  const core = createCore(
    { redisUrl: testRedisUrl(), redisKeyPrefix: prefix, ...SWEEP, ...setting },
    pino({ level: 'silent' }),
  );
  await core.ready();
  return core;
}

describe('deferred timer starts', () => {
  it('keeps a far answer deadline out of BullMQ, and the answer drops it without a removal', async () => {
    const callId = `far-${++n}`;
    const before = await timerJobs();
    const invited = await file.core.runtime.applyEvent(callId, inviteDue(callId, 5000));
    expect(invited).toMatchObject({ outcome: 'committed', effects: 3 });
    const [deadline, ...rest] = await file.core.store.readDeferred(callId);
    expect(rest).toEqual([]);
    expect(deadline?.effect).toMatchObject({
      name: 'answerDeadline',
      jobId: `${callId}-answerDeadline-g2`,
    });
    // handed over LEAD before it fires: the sweepers visit GRACE after the score
    const fireAt = (deadline!.effect as { fireAt: number }).fireAt;
    expect(deadline!.score).toBe(fireAt - LEAD - SWEEP.outboxGraceMs);
    // the acknowledgement moves the call's index entry to that score
    await file.core.store.flushAcks();
    await eventually(
      async () => ((await indexScore(callId)) === deadline!.score ? true : undefined),
      1000,
      'the index entry moved to the deferred start',
    );
    const answered = await file.core.runtime.applyEvent(callId, {
      type: 'GRAPH.ANSWER_ACCEPTED',
      at: Date.now(),
      attempts: 1,
    });
    expect(answered.outcome).toBe('committed');
    // the deadline's cancel found its start still deferred: no marker, nothing removed, and
    // the keep-alive armed by the answer is deferred too (15 min away)
    expect(
      await file.redis.exists(
        callKeys(prefix, callId).cancelledTimer(`${callId}-answerDeadline-g2`),
      ),
    ).toBe(0);
    expect((await file.core.store.readDeferred(callId)).map((d) => d.effect.name)).toEqual([
      'keepAlive',
    ]);
    expect(await timerJobs()).toBe(before);
  });

  it('is handed to BullMQ by a sweeper shortly before it is due, and fires on time', async () => {
    const callId = `fires-${++n}`;
    const sweeper = file.core.sweepOutbox(SWEEP);
    const fired: number[] = [];
    const process = createTimerProcessor({ runtime: file.core.runtime });
    const worker = new Worker<TimerJob>(
      QUEUE.timers,
      async (job) => {
        if (job.data.callId === callId) fired.push(Date.now());
        return process(job);
      },
      { connection: file.core.workerConnection(), prefix: queuePrefix(prefix) },
    );
    try {
      await file.core.runtime.applyEvent(callId, inviteDue(callId, 3000));
      const [deadline] = await file.core.store.readDeferred(callId);
      const fireAt = (deadline!.effect as { fireAt: number }).fireAt;
      const jobId = `${callId}-answerDeadline-g2`;
      // not in BullMQ until LEAD before it is due
      while (Date.now() < fireAt - LEAD - 150) {
        expect(await file.core.queues.timers.getJob(jobId)).toBeUndefined();
        await new Promise((r) => setTimeout(r, 50));
      }
      const handed = await eventually(
        async () => file.core.queues.timers.getJob(jobId),
        2000,
        'the hand-over',
      );
      expect(Date.now()).toBeLessThan(fireAt);
      expect(await handed.getState()).toBe('delayed');
      // the call without an answer fails on its deadline, fired by BullMQ
      const failed = await eventually(
        async () => {
          const call = await file.core.runtime.getCall(callId);
          return call?.snapshot.status === 'done' ? call : undefined;
        },
        5000,
        'the deadline to fire',
      );
      expect(failed.snapshot.context.failure?.reason).toBe('answer-deadline-missed');
      expect(fired).toHaveLength(1);
      expect(fired[0]).toBeGreaterThanOrEqual(fireAt);
      expect(fired[0]! - fireAt).toBeLessThan(1000);
      // handed over and finished: nothing deferred, and the call has left the index
      expect(await file.core.store.readDeferred(callId)).toEqual([]);
      await file.core.store.flushAcks();
      await eventually(
        async () => ((await indexScore(callId)) === null ? true : undefined),
        2000,
        'the call to leave the index',
      );
    } finally {
      await worker.close();
      await sweeper.close();
    }
  });

  it('survives its committer: a sweeper finds the call, waits for the start and hands it over', async () => {
    const callId = `orphan-${++n}`;
    const now = Date.now();
    // seconds of margin on each side: a busy machine may run the sweeps late
    const fireAt = now + 2 * LEAD + 3000;
    const effect = keepAliveStart(callId, 7, fireAt);
    const score = fireAt - LEAD - SWEEP.outboxGraceMs;
    // a commit announced and written by a process that died before its acknowledgement
    const result = await file.core.store.commit(
      fakeFirstCommit(callId, {
        effects: [],
        deferred: [{ score, effect }],
        announceAt: now - 5000,
      }),
    );
    expect(result).toMatchObject({ kind: 'committed', outboxIds: [], dropped: [] });
    // a value nobody could have written is skipped, not fatal
    await file.redis.hset(callKeys(prefix, callId).deferred, 'junk', 'not-a-score');
    const sweeper = file.core.sweepOutbox(SWEEP);
    try {
      await eventually(
        async () => ((await indexScore(callId)) === score ? true : undefined),
        2000,
        'the sweeper to move the entry to the start',
      );
      expect(await file.core.queues.timers.getJob(effect.jobId)).toBeUndefined();
      const job = await eventually(
        async () => file.core.queues.timers.getJob(effect.jobId),
        fireAt - Date.now(),
        'the hand-over',
      );
      expect(Date.now()).toBeLessThan(fireAt);
      expect(job.data).toMatchObject({ callId, gen: 7 });
      // the sweeper drops the entry right after the hand-over
      await eventually(
        async () => ((await file.core.store.readDeferred(callId)).length === 0 ? true : undefined),
        1000,
        'the deferred entry dropped',
      );
    } finally {
      await sweeper.close();
    }
  });

  it('cancels a start that a sweeper already handed over the usual way (marker and removal)', async () => {
    const callId = `late-${++n}`;
    await file.core.runtime.applyEvent(callId, inviteDue(callId, 2 * LEAD + 100));
    const jobId = `${callId}-answerDeadline-g2`;
    const sweeper = file.core.sweepOutbox(SWEEP);
    try {
      await eventually(
        async () => file.core.queues.timers.getJob(jobId),
        4 * LEAD,
        'the hand-over',
      );
    } finally {
      await sweeper.close();
    }
    const answered = await file.core.runtime.applyEvent(callId, {
      type: 'GRAPH.ANSWER_ACCEPTED',
      at: Date.now(),
      attempts: 1,
    });
    expect(answered.outcome).toBe('committed');
    expect(await file.redis.exists(callKeys(prefix, callId).cancelledTimer(jobId))).toBe(1);
    await eventually(
      async () => ((await file.core.queues.timers.getJob(jobId)) === undefined ? true : undefined),
      2000,
      'the job removed',
    );
  });
});

describe('a timer fired twice', () => {
  it('changes its call once, and leaves no dedup token', async () => {
    const callId = `twice-${++n}`;
    await file.core.runtime.applyEvent(callId, inviteDue(callId, 60_000));
    const process = createTimerProcessor({ runtime: file.core.runtime });
    const data: TimerJob = {
      callId,
      timerId: 'answerDeadline',
      event: 'TIMER.ANSWER_DEADLINE',
      gen: 2,
    };
    // BullMQ delivers at least once: the same job, run again after its first run committed
    const job = { id: `${callId}-answerDeadline-g2`, data } as Job<TimerJob>;
    expect(await process(job)).toBe('committed');
    const after = await file.core.runtime.getCall(callId);
    expect(after?.snapshot.value).toBe('failed');
    expect(await process(job)).toBe('ignored');
    expect((await file.core.runtime.getCall(callId))?.version).toBe(after?.version);
    expect(await file.redis.hget(callKeys(prefix, callId).call, 'dd')).toBeNull();
  });
});

describe('the stored form of a deferred start', () => {
  const expected = (callId: string, fireAt: number) => ({
    queue: 'timers',
    name: 'answerDeadline',
    jobId: `${callId}-answerDeadline-g2`,
    data: { callId, timerId: 'answerDeadline', event: 'TIMER.ANSWER_DEADLINE', gen: 2 },
    fireAt,
  });

  it('is packed to its score, time, generation and names, and read back whole', async () => {
    const callId = `packed-${++n}`;
    await file.core.runtime.applyEvent(callId, inviteDue(callId, 5000));
    const key = callKeys(prefix, callId).deferred;
    const [stored] = await file.redis.hvals(key);
    const [score, form, lead, ...rest] = stored!.split(' ');
    expect([form, ...rest]).toEqual(['t2', '2', 'answerDeadline', 'ANSWER_DEADLINE']);
    const fireAt = Number(score) + Number(lead);
    expect(Number(lead)).toBeGreaterThan(0);
    const [start] = await file.core.store.readDeferred(callId);
    expect(start).toEqual({ score: Number(score), effect: expected(callId, fireAt) });
    // key for key, in the order toEffectRecords gives them
    expect(JSON.stringify(start!.effect)).toBe(JSON.stringify(expected(callId, fireAt)));
    // short enough for Redis to keep the hash as one compact listpack, not a table
    expect(stored!.length).toBeLessThanOrEqual(64);
    expect(await file.redis.call('OBJECT', 'ENCODING', key)).toBe('listpack');
  });

  it('reads the first packed form, written by the release before', async () => {
    const callId = `packed-t1-${++n}`;
    const jobId = `${callId}-answerDeadline-g2`;
    await file.redis.hset(callKeys(prefix, callId).deferred, {
      [jobId]: '1800000000000 t1 1800000003000 2 answerDeadline TIMER.ANSWER_DEADLINE',
    });
    expect(await file.core.store.readDeferred(callId)).toEqual([
      { score: 1_800_000_000_000, effect: expected(callId, 1_800_000_003_000) },
    ]);
  });

  it('is JSON with PACK_SNAPSHOTS=false, and either form reads the same', async () => {
    const off = await coreWith({ packSnapshots: false });
    try {
      const callId = `json-${++n}`;
      await off.runtime.applyEvent(callId, inviteDue(callId, 5000));
      const [stored] = await file.redis.hvals(callKeys(prefix, callId).deferred);
      const [score, json] = [
        stored!.slice(0, stored!.indexOf(' ')),
        stored!.slice(stored!.indexOf(' ') + 1),
      ];
      const effect = JSON.parse(json) as { fireAt: number };
      expect(effect).toEqual(expected(callId, effect.fireAt));
      expect(await file.core.store.readDeferred(callId)).toEqual([
        { score: Number(score), effect },
      ]);
      // values that are neither are skipped, not thrown
      await file.redis.hset(callKeys(prefix, callId).deferred, {
        a: 'x t1 1 2 k e',
        b: '5',
        c: '7 t1 x',
        d: '7 t2 x 2 k e',
        e: '7 t2 1 y k e',
      });
      expect(await file.core.store.readDeferred(callId)).toHaveLength(1);
    } finally {
      await off.close();
    }
  });
});

describe('DEFER_TIMERS=false (a rolling upgrade from a build without deferral)', () => {
  it('hands every timer start to BullMQ at once', async () => {
    const off = await coreWith({ deferTimers: false });
    try {
      const callId = `now-${++n}`;
      await off.runtime.applyEvent(callId, inviteDue(callId, 5000));
      expect(await off.store.readDeferred(callId)).toEqual([]);
      const job = await off.queues.timers.getJob(`${callId}-answerDeadline-g2`);
      expect(await job?.getState()).toBe('delayed');
    } finally {
      await off.close();
    }
  });
});

describe('deferred keep-alives in a running system', () => {
  it('keep a call alive past the platform timeout, each handed to BullMQ before it is due', async () => {
    // sweeps every 100 ms: a start is deferred when ≥ 2.4 s away; keep-alives every 2.5 s, and
    // the simulator drops a call without one for 4 s
    const system = await startSystem({
      name: 'deferred-keepalive',
      env: {
        OUTBOX_SWEEP_INTERVAL_MS: '100',
        OUTBOX_GRACE_MS: '200',
        KEEPALIVE_INTERVAL_MS: '2500',
        MEDIA_ARRIVAL_TIMEOUT_MS: '600000',
      },
      sim: { keepAliveTimeoutMs: 4000 },
    });
    try {
      const call = await placeEstablished(system);
      const deferred = await system.core.store.readDeferred(call.id);
      expect(deferred.map((d) => d.effect.name)).toContain('keepAlive');
      await new Promise((r) => setTimeout(r, 8000));
      expect(call.state).toBe('established');
      expect(call.keepAlives.length).toBeGreaterThanOrEqual(3);
      const state = await callReaches(system, call.id, 'established', 1000);
      expect(state.snapshot.context.keepAlive.sent).toBeGreaterThanOrEqual(3);
    } finally {
      await system.close();
    }
  }, 20_000);
});
