/**
 * Every Lua script of the orchestrator with its typed contract; the text and its KEYS/ARGV
 * comment are in `./lua/<name>.lua`. Keys come from `./keys.ts`; the keys of one script share
 * one `{callId}` hash tag (or it has a single key), so each runs in one slot on Redis Cluster.
 */
import { defineScript, reply } from './define-script.js';

/** The compare-and-set commit of a transition (its reply is read by calls/snapshot-store.ts). */
export const commitScript = defineScript<
  [
    call: string,
    outbox: string,
    record: string,
    history: string,
    deferred: string,
    ...cancelledTimers: string[],
  ],
  [
    expectedVersion: number,
    snapshot: string,
    dedupToken: string,
    machineVersion: number,
    state: string,
    status: 'active' | 'done',
    retentionMs: number,
    persist: '1' | '0',
    record: string,
    recordRetentionMs: number,
    trace: string,
    stopGen: number | '',
    effects: string,
    cancelMemoryS: number | '',
    historyEntry: string,
    historyMax: number,
    summary: string,
    nowS: number,
    dedupTtlS: number,
    dedupMax: number,
    deferredCount: number,
    /** jobId, "<score> <effect>" of each deferred start (src/calls/snapshot-store.ts `deferredValue`), then the cancels' job ids */
    ...deferredThenCancelled: (string | number)[],
  ],
  (string | number)[]
>('commit', reply.array);

/** Remove a sorted-set member only if its score is still the one read; true when removed. */
export const forgetIfUnchangedScript = defineScript<
  [set: string],
  [member: string, score: string],
  boolean
>('forget-if-unchanged', (value) => reply.integer(value) === 1);

/**
 * Remove a call from the outbox index if its outbox is empty and the score is still the one
 * announced (or move it to its earliest deferred timer start); true when removed or moved.
 */
export const forgetIfDrainedScript = defineScript<
  [index: string, outbox: string, deferred: string],
  [callId: string, score: number],
  boolean
>('forget-if-drained', (value) => reply.integer(value) > 0);

/**
 * Move a sorted-set member to `next` (or remove it, `next` = '') only if its score is still the
 * one read; true when changed.
 */
export const rescoreIfUnchangedScript = defineScript<
  [set: string],
  [member: string, score: string, next: number | ''],
  boolean
>('rescore-if-unchanged', (value) => reply.integer(value) === 1);

export const RESUME_REPLIES = ['ok', 'unknown-session', 'ended', 'expired', 'live'] as const;
export type ResumeReply = (typeof RESUME_REPLIES)[number];

/** Take over a lost media session within its window. */
export const mediaResumeScript = defineScript<
  [media: string],
  [sessionId: string, owner: string, now: number, windowMs: number],
  ResumeReply
>('media-resume', reply.oneOf(...RESUME_REPLIES));

/** End a media session still lost since `lostAt`; true when ended now. */
export const mediaEndIfStillLostScript = defineScript<
  [media: string],
  [sessionId: string, lostAt: number],
  boolean
>('media-end-if-still-lost', (value) => reply.integer(value) === 1);

/** Mark a media session lost if it still streams for `owner`; true when marked now. */
export const mediaMarkLostIfOwnedScript = defineScript<
  [media: string],
  [sessionId: string, owner: string, lostAt: number],
  boolean
>('media-mark-lost-if-owned', (value) => reply.integer(value) === 1);
