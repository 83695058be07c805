/**
 * An answer job taken back from a worker that stopped with its request in flight (BullMQ's
 * stalled-job check, after the lock lapsed) is not sent again once Teams acted on the first
 * request: Graph would refuse a second answer (the invite is gone: 404/8522) and the refusal
 * would fail a call being set up. Sent again (the call still waits) and refused as gone, the
 * refusal fails nothing: Teams' next notification settles the call. Real Redis, real BullMQ
 * workers and lock expiry, the product's Graph processor reading the call's committed state;
 * the Graph port records what is sent.
 */
import { Worker, type Job } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import type { GraphCalls } from '../../src/graph/calls.js';
import { GraphCallError } from '../../src/graph/errors.js';
import { QUEUE, type StoredGraphJob } from '../../src/queues/jobs.js';
import { queuePrefix } from '../../src/redis/keys.js';
import { stateName } from '../../src/calls/runtime.js';
import { createGraphProcessor } from '../../workers/graph.js';
import { incoming } from '../helpers/call-events.js';
import { fileCore } from '../helpers/core.js';
import { eventually } from '../helpers/system.js';

const file = fileCore('answer-resend');
const LOCK_MS = 400;
const workers: Worker[] = [];
let n = 0;

// before the core closes (after-hooks run last registered first)
afterAll(async () => {
  await Promise.all(workers.map((w) => w.close(true)));
});

const worker = (processor: ConstructorParameters<typeof Worker<StoredGraphJob>>[1]) => {
  const w = new Worker<StoredGraphJob>(QUEUE.graph, processor, {
    connection: file.core.workerConnection(),
    prefix: queuePrefix(file.prefix),
    lockDuration: LOCK_MS,
    stalledInterval: 200,
    maxStalledCount: 2,
  });
  w.on('error', () => undefined);
  workers.push(w);
  return w;
};

/** A Graph port that records each request and accepts it, or refuses it with `refusal`. */
function recordingGraph(sent: string[], refusal?: GraphCallError): GraphCalls {
  const record = (op: string) => (_t: string, callId: string) => {
    sent.push(`${op} ${callId}`);
    return refusal ? Promise.reject(refusal) : Promise.resolve();
  };
  return {
    answer: record('answer'),
    reject: record('reject'),
    updateRecordingStatus: record('updateRecordingStatus'),
    keepAlive: record('keepAlive'),
    hangUp: record('hangUp'),
  };
}

/**
 * Invite a call, let a first worker take its answer job and stop with the request in flight
 * (its processor never returns; the worker is closed without finishing it, so its lock lapses
 * as a dead process's would); `meanwhile` runs before the second worker starts.
 */
async function answerTakenBack(
  meanwhile: (callId: string) => Promise<void>,
  refusal?: GraphCallError,
) {
  const callId = `resend-${++n}`;
  const at = Date.now();
  await file.core.runtime.applyEvent(callId, { ...incoming(callId, at), deadlineAt: at + 20_000 });
  let inFlight: (() => void) | undefined;
  const taken = new Promise<void>((resolve) => (inFlight = resolve));
  const first = worker(async (job) => {
    if (job.data.callId === callId) inFlight?.();
    await new Promise(() => undefined); // the request never returns: the process is gone
  });
  await taken;
  await first.close(true);
  await meanwhile(callId);
  const sent: string[] = [];
  // the finished job is dropped at once (its id stays remembered): catch it as it finishes
  const finished: Job<StoredGraphJob>[] = [];
  const second = worker(
    createGraphProcessor({
      graph: recordingGraph(sent, refusal),
      runtime: file.core.runtime,
      callState: (id) => file.core.store.state(id),
      callbackUri: 'https://bot.example.com/api/calling',
      answerBody: () => ({
        callbackUri: 'https://bot.example.com/api/calling',
        acceptedModalities: ['audio'],
        mediaConfig: { '@odata.type': '#microsoft.graph.appHostedMediaConfig', blob: '{}' },
      }),
    }),
  );
  const collect = (job: Job<StoredGraphJob> | undefined) => job && finished.push(job);
  second.on('completed', collect);
  second.on('failed', collect);
  const job = await eventually(
    () => finished.find((j) => j.data.callId === callId),
    10_000,
    'the answer job finished by the second worker',
  );
  await second.close();
  expect(job.stalledCounter).toBe(1);
  return { callId, sent };
}

describe('an answer job taken back from a stopped worker', () => {
  it('is not sent again when Teams is establishing the call, and counts as accepted', async () => {
    const { callId, sent } = await answerTakenBack(async (id) => {
      // the first request reached Graph: Teams says the call is being established
      await file.core.runtime.applyEvent(id, { type: 'CALL.ESTABLISHING', at: Date.now() });
    });
    expect(sent).toEqual([]);
    const call = await file.core.runtime.getCall(callId);
    expect(stateName(call!.snapshot)).toBe('live.establishing');
    expect(call!.snapshot.context.answeredAt).toBeGreaterThan(0);
    const { entries } = await file.core.store.loadHistory(callId);
    expect(entries.at(-1)).toMatchObject({ event: 'GRAPH.ANSWER_ACCEPTED' });
  });

  it('is sent when the call still waits for its answer', async () => {
    const { callId, sent } = await answerTakenBack(() => Promise.resolve());
    expect(sent).toEqual([`answer ${callId}`]);
    const call = await file.core.runtime.getCall(callId);
    expect(stateName(call!.snapshot)).toBe('live.answered');
  });

  it('sent and refused as gone: the refusal fails nothing, Teams’ notification settles the call', async () => {
    const gone = new GraphCallError(
      'Graph answered 404 (8522): gone',
      404,
      '8522',
      false,
      undefined,
    );
    const { callId, sent } = await answerTakenBack(() => Promise.resolve(), gone);
    expect(sent).toEqual([`answer ${callId}`]);
    const call = await file.core.runtime.getCall(callId);
    expect(stateName(call!.snapshot)).toBe('answering');
    // the earlier answer was accepted after all: Teams sets the call up
    await file.core.runtime.applyEvent(callId, { type: 'CALL.ESTABLISHING', at: Date.now() });
    const after = await file.core.runtime.getCall(callId);
    expect(stateName(after!.snapshot)).toBe('live.establishing');
  });
});
