/**
 * The Graph worker's retry decisions (docs/teams-protocol.md#errors-and-retries),
 * in memory: a fake
 * `GraphCalls` and a fake job, the real processor and backoff strategy.
 */
import { UnrecoverableError, type Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import type { CallEvent } from '../../machines/call.js';
import type { GraphCalls } from '../../src/graph/calls.js';
import type { GraphCallError } from '../../src/graph/errors.js';
import { parseRetryAfter, toGraphCallError } from '../../src/graph/errors.js';
import type { GraphJobs, GraphOp, StoredGraphJob } from '../../src/queues/jobs.js';
import {
  createGraphProcessor,
  graphBackoffStrategy,
  RetryLaterError,
} from '../../workers/graph.js';

const NOW = 1_700_000_000_000;
const REFUSED = 'Graph answered 403 (Forbidden): x';

function harness(
  failure: GraphCallError | undefined,
  callState?: (callId: string) => Promise<string | undefined>,
) {
  const events: CallEvent[] = [];
  const sent: string[] = [];
  const args: unknown[][] = [];
  const act =
    (op: string) =>
    (...given: unknown[]) => {
      sent.push(op);
      args.push(given.slice(0, -1)); // all but the AbortSignal
      return failure ? Promise.reject(failure) : Promise.resolve();
    };
  const graph: GraphCalls = {
    answer: act('answer'),
    reject: act('reject'),
    updateRecordingStatus: act('updateRecordingStatus'),
    keepAlive: act('keepAlive'),
    hangUp: act('hangUp'),
  };
  const processJob = createGraphProcessor({
    graph,
    runtime: {
      applyEvent: (_id, event) => {
        events.push(event);
        return Promise.resolve({ outcome: 'ignored', state: 'x' });
      },
    },
    callbackUri: 'https://bot.example.com/api/calling',
    ...(callState ? { callState } : {}),
    answerBody: () => ({
      callbackUri: '',
      acceptedModalities: ['audio'],
      mediaConfig: { '@odata.type': '#microsoft.graph.appHostedMediaConfig', blob: '{}' },
    }),
    now: () => NOW,
  });
  const job = (
    data: Partial<StoredGraphJob> & Pick<StoredGraphJob, 'op'>,
    attemptsMade = 0,
    stalledCounter = 0,
  ) =>
    ({
      id: 'j1',
      attemptsMade,
      stalledCounter,
      data: { callId: 'c1', tenantId: 't1', deadlineAt: NOW + 5000, ...data },
    }) as Job<StoredGraphJob>;
  return { events, sent, args, job, run: (j: Job<StoredGraphJob>) => processJob(j) };
}

const err = (status: number, code?: string, retryAfter?: string) =>
  toGraphCallError({
    statusCode: status,
    code,
    message: 'x',
    headers: new Headers(retryAfter ? { 'retry-after': retryAfter } : {}),
  });

describe('Retry-After', () => {
  it('reads fractional seconds and HTTP dates', () => {
    expect(parseRetryAfter('2.128')).toBe(2128);
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(NOW + 4000).toUTCString(), NOW)).toBe(4000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

/**
 * Every Graph operation: the port method it calls and the events that report it. Typed by the
 * machine's operations, so a new operation does not compile until it has a row here.
 */
const OPERATIONS: {
  [K in GraphOp]: {
    job: Omit<GraphJobs[K], 'callId' | 'tenantId' | 'deadlineAt'>;
    sends: unknown[];
    ok: CallEvent;
    failed: CallEvent;
  };
} = {
  answer: {
    job: { op: 'answer' },
    sends: ['t1', 'c1', expect.objectContaining({ acceptedModalities: ['audio'] })],
    ok: { type: 'GRAPH.ANSWER_ACCEPTED', at: NOW, attempts: 1 },
    failed: { type: 'GRAPH.ANSWER_FAILED', at: NOW, reason: REFUSED, attempts: 1, httpStatus: 403 },
  },
  reject: {
    job: { op: 'reject', reason: 'busy' },
    sends: ['t1', 'c1', { reason: 'busy', callbackUri: 'https://bot.example.com/api/calling' }],
    ok: { type: 'GRAPH.REJECT_ACCEPTED', at: NOW },
    failed: { type: 'GRAPH.REJECT_FAILED', at: NOW, reason: REFUSED, httpStatus: 403 },
  },
  updateRecordingStatus: {
    job: { op: 'updateRecordingStatus', recordingStatus: 'notRecording', clientContext: 'cc' },
    sends: ['t1', 'c1', { status: 'notRecording', clientContext: 'cc' }],
    ok: {
      type: 'GRAPH.RECORDING_STATUS_OK',
      at: NOW,
      recordingStatus: 'notRecording',
      attempts: 1,
    },
    failed: {
      type: 'GRAPH.RECORDING_STATUS_FAILED',
      at: NOW,
      recordingStatus: 'notRecording',
      reason: REFUSED,
      attempts: 1,
      httpStatus: 403,
    },
  },
  keepAlive: {
    job: { op: 'keepAlive' },
    sends: ['t1', 'c1'],
    ok: { type: 'GRAPH.KEEPALIVE_OK', at: NOW },
    failed: { type: 'GRAPH.KEEPALIVE_FAILED', at: NOW, reason: REFUSED, httpStatus: 403 },
  },
  hangUp: {
    job: { op: 'hangUp' },
    sends: ['t1', 'c1'],
    ok: { type: 'GRAPH.HANGUP_OK', at: NOW },
    failed: { type: 'GRAPH.HANGUP_FAILED', at: NOW, reason: REFUSED, httpStatus: 403 },
  },
};

describe('graph operations', () => {
  it.each(Object.entries(OPERATIONS))(
    '%s: sends its request and reports success',
    async (op, { job, sends, ok }) => {
      const h = harness(undefined);
      await h.run(h.job(job));
      expect(h.sent).toEqual([op]);
      expect(h.args).toEqual([sends]);
      expect(h.events).toEqual([ok]);
    },
  );

  it.each(Object.entries(OPERATIONS))('%s: reports a refusal', async (_op, { job, failed }) => {
    const h = harness(err(403, 'Forbidden'));
    await expect(h.run(h.job(job))).rejects.toBeInstanceOf(UnrecoverableError);
    expect(h.events).toEqual([failed]);
  });

  it('a recording-status job stored before `recordingStatus` was named so still sends its status', async () => {
    const h = harness(undefined);
    await h.run(h.job({ op: 'updateRecordingStatus', status: 'failed', clientContext: 'cc' }));
    expect(h.args).toEqual([['t1', 'c1', { status: 'failed', clientContext: 'cc' }]]);
    expect(h.events).toEqual([
      { type: 'GRAPH.RECORDING_STATUS_OK', at: NOW, recordingStatus: 'failed', attempts: 1 },
    ]);
  });
});

describe('graph worker decisions', () => {
  it('reports success as the operation’s event', async () => {
    const h = harness(undefined);
    await h.run(
      h.job({ op: 'updateRecordingStatus', recordingStatus: 'recording', clientContext: 'c' }),
    );
    expect(h.events).toEqual([
      { type: 'GRAPH.RECORDING_STATUS_OK', at: NOW, recordingStatus: 'recording', attempts: 1 },
    ]);
  });

  it.each([429, 503, 504])(
    '%i with Retry-After is retried after exactly that wait',
    async (status) => {
      const h = harness(err(status, 'TooManyRequests', '2.128'));
      const error = await h.run(h.job({ op: 'answer' })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RetryLaterError);
      expect(graphBackoffStrategy(1, 'graph-retry-after', error as Error)).toBe(2128);
      expect(h.events).toEqual([]);
    },
  );

  it('a retry that would land after the deadline is not scheduled: the failure is reported', async () => {
    const h = harness(err(429, 'TooManyRequests', '6'));
    await expect(h.run(h.job({ op: 'answer' }))).rejects.toBeInstanceOf(UnrecoverableError);
    expect(h.events).toEqual([
      expect.objectContaining({ type: 'GRAPH.ANSWER_FAILED', httpStatus: 429 }),
    ]);
  });

  it.each([
    [404, '8522'],
    [403, '7504'],
    [403, '8506'],
    [400, 'BadRequest'],
  ])('%i %s is final, never retried', async (status, code) => {
    const h = harness(err(status, code));
    await expect(h.run(h.job({ op: 'keepAlive' }))).rejects.toBeInstanceOf(UnrecoverableError);
    expect(h.events).toEqual([
      expect.objectContaining({ type: 'GRAPH.KEEPALIVE_FAILED', httpStatus: status }),
    ]);
  });

  it('sends nothing once the deadline has passed', async () => {
    const h = harness(undefined);
    await expect(h.run(h.job({ op: 'answer', deadlineAt: NOW - 1 }))).rejects.toBeInstanceOf(
      UnrecoverableError,
    );
    expect(h.sent).toEqual([]);
    expect(h.events).toEqual([expect.objectContaining({ type: 'GRAPH.ANSWER_FAILED' })]);
  });

  it('a transport failure is retried with backoff while time is left', async () => {
    const h = harness(toGraphCallError(new TypeError('fetch failed')));
    const error = await h.run(h.job({ op: 'hangUp' }, 2)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryLaterError);
    expect((error as RetryLaterError).retryAfterMs).toBe(400);
  });
});

describe('an answer sent again', () => {
  const state = (value: string | undefined) => () => Promise.resolve(value);

  it.each([
    ['taken back from a stopped worker', 0, 1],
    ['retried after a transport failure', 1, 0],
  ])(
    '%s: not sent when Teams is establishing the call, reported as accepted',
    async (_name, attempts, stalled) => {
      const h = harness(undefined, state('live.establishing'));
      await h.run(h.job({ op: 'answer' }, attempts, stalled));
      expect(h.sent).toEqual([]);
      expect(h.events).toEqual([
        expect.objectContaining({ type: 'GRAPH.ANSWER_ACCEPTED', attempts: attempts + 1 }),
      ]);
    },
  );

  it('not sent nor reported for a call that ended or failed meanwhile', async () => {
    for (const ended of ['terminated', 'failed']) {
      const h = harness(undefined, state(ended));
      await h.run(h.job({ op: 'answer' }, 0, 1));
      expect([h.sent, h.events]).toEqual([[], []]);
    }
  });

  it('sent while the call still waits for it, or when its state cannot be read', async () => {
    const waiting = harness(undefined, state('answering'));
    await waiting.run(waiting.job({ op: 'answer' }, 0, 1));
    expect(waiting.sent).toEqual(['answer']);
    const unreadable = harness(undefined, () => Promise.reject(new Error('Redis is down')));
    await unreadable.run(unreadable.job({ op: 'answer' }, 1, 0));
    expect(unreadable.sent).toEqual(['answer']);
  });

  it('refused as gone (404/8522) the second time: not reported, Teams or the deadline decide', async () => {
    const again = harness(err(404, '8522'), state('answering'));
    await expect(again.run(again.job({ op: 'answer' }, 0, 1))).rejects.toBeInstanceOf(
      UnrecoverableError,
    );
    expect([again.sent, again.events]).toEqual([['answer'], []]);
    // the first attempt's refusal is the call's answer
    const first = harness(err(404, '8522'), state('answering'));
    await expect(first.run(first.job({ op: 'answer' }))).rejects.toBeInstanceOf(UnrecoverableError);
    expect(first.events).toEqual([
      expect.objectContaining({ type: 'GRAPH.ANSWER_FAILED', httpStatus: 404 }),
    ]);
  });

  it('a first attempt never reads the state: the answer leaves at once', async () => {
    let reads = 0;
    const h = harness(undefined, () => {
      reads += 1;
      return Promise.resolve('live.established');
    });
    await h.run(h.job({ op: 'answer' }));
    expect([h.sent, reads]).toEqual([['answer'], 0]);
  });
});
