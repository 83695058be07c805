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
import type { GraphJob } from '../../src/queues/jobs.js';
import {
  createGraphProcessor,
  graphBackoffStrategy,
  RetryLaterError,
} from '../../workers/graph.js';

const NOW = 1_700_000_000_000;

function harness(failure: GraphCallError | undefined) {
  const events: CallEvent[] = [];
  const sent: string[] = [];
  const act = (op: string) => () => {
    sent.push(op);
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
    answerBody: () => ({
      callbackUri: '',
      acceptedModalities: ['audio'],
      mediaConfig: { '@odata.type': '#microsoft.graph.appHostedMediaConfig', blob: '{}' },
    }),
    now: () => NOW,
  });
  const job = (data: Partial<GraphJob> & Pick<GraphJob, 'op'>, attemptsMade = 0) =>
    ({
      id: 'j1',
      attemptsMade,
      data: { callId: 'c1', tenantId: 't1', deadlineAt: NOW + 5000, ...data },
    }) as Job<GraphJob>;
  return { events, sent, job, run: (j: Job<GraphJob>) => processJob(j) };
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
