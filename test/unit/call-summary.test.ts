/**
 * A call's failure in words, from the facts a live context and a compact record both hold, and
 * the outcome in words of Graph and media events in the history.
 */
import { describe, expect, it } from 'vitest';
import { failureOf, type FailureFacts } from '../../src/calls/call-summary.js';
import { outcomeOf } from '../../src/calls/history.js';

const facts = (extra: Partial<FailureFacts>): FailureFacts => ({
  state: 'terminated',
  recordingReports: [],
  ...extra,
});

describe('failure in words', () => {
  it.each<[string, Partial<FailureFacts>, ReturnType<typeof failureOf>]>([
    [
      'a missed answer deadline',
      { state: 'failed', failure: { reason: 'answer-deadline-missed' } },
      {
        kind: 'deadline-missed',
        text: 'The answer deadline passed before Graph accepted the answer',
      },
    ],
    [
      'Graph refusing the answer',
      {
        state: 'failed',
        failure: { reason: 'answer-refused', detail: 'Graph answered 403 (8522): no' },
      },
      { kind: 'graph-refused', text: 'Graph refused answer with 403 (Forbidden)', code: '403' },
    ],
    [
      'a keep-alive expiry',
      { resultInfo: { code: 408, subcode: 8537, message: 'x' } },
      {
        kind: 'keepalive-expired',
        text: 'Teams ended the call: keep-alive expired (408/8537)',
        code: '408/8537',
      },
    ],
    [
      'lost media',
      { resultInfo: { code: 410, subcode: 301005, message: 'x' } },
      {
        kind: 'media-lost',
        text: 'Teams ended the call: media lost (410/301005)',
        code: '410/301005',
      },
    ],
    [
      'another platform end',
      { resultInfo: { code: 500, subcode: 1005, message: 'Server\nerror' } },
      {
        kind: 'platform-ended',
        text: 'Teams ended the call with 500/1005: Server error',
        code: '500/1005',
      },
    ],
    [
      'a policy rejection',
      { state: 'rejected', verdict: { action: 'reject', reason: 'forbidden', rule: 'suspended' } },
      { kind: 'rejected-by-policy', text: 'Rejected by policy rule suspended (forbidden)' },
    ],
    [
      'a recording fault',
      {
        state: 'live.established.recordingFailed',
        recordingReports: [{ status: 'failed', at: 1, ok: true }],
        mediaFault: 'disk full',
      },
      { kind: 'media-lost', text: 'Recording failed: disk full' },
    ],
  ])('%s', (_, extra, expected) => {
    expect(failureOf(facts(extra))).toEqual(expected);
  });

  it('a normal end, or a bot hang-up with 200/7000, is no failure', () => {
    expect(failureOf(facts({ resultInfo: { code: 200, subcode: 4097, message: '' } }))).toBe(
      undefined,
    );
    expect(failureOf(facts({ state: 'live.established.recording' }))).toBe(undefined);
  });

  it('says Graph and media outcomes in words, bounded', () => {
    expect(outcomeOf({ type: 'GRAPH.ANSWER_ACCEPTED', at: 1, attempts: 1 })).toBe(
      'Graph accepted the answer after 1 attempt',
    );
    const long = outcomeOf({
      type: 'GRAPH.RECORDING_STATUS_FAILED',
      at: 1,
      recordingStatus: 'recording',
      reason: 'x'.repeat(1000),
      httpStatus: 403,
      attempts: 1,
    })!;
    // the reason from outside is cut to 160 characters after the words around it
    expect(long.length).toBeLessThan(240);
    expect(long).toMatch(/^Graph refused recording status recording with 403 \(Forbidden\): x+…$/);
    expect(outcomeOf({ type: 'MEDIA.LOST', at: 1, reason: 'heartbeat timeout' })).toBe(
      'media connection lost: heartbeat timeout',
    );
    expect(outcomeOf({ type: 'CALL.ESTABLISHED', at: 1 })).toBeUndefined();
  });
});
