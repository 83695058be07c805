/**
 * Every Redis key of the orchestrator is built here, whatever part uses it: the calls (snapshot,
 * outbox, record, history), the media registry, the indexes the sweepers read, the media
 * processes' liveness and the BullMQ prefix. All keys of one call carry the `{callId}` hash tag
 * so a script touching several of them stays in one slot on Redis Cluster; BullMQ queues share
 * a hash-tagged prefix for the same reason. The other keys are only touched by single-key
 * commands.
 */

/** Call ids are Graph call-leg ids (GUID-like); anything else is refused before it nears Redis. */
export const CALL_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface CallKeys {
  /**
   * Hash: v (version), snap (persisted snapshot JSON), mv (machine version), state, status,
   * persist ('1' while media may be written), stop (generation of the latest stop), sum (the
   * operator's summary), trace (the call's first trace) and dd (the dedup tokens of the
   * deliveries and job results applied lately, see src/redis/lua/commit.lua).
   */
  call: string;
  /** Stream of effects committed with a transition and not yet handed to BullMQ. */
  outbox: string;
  /**
   * Hash jobId → "<index score> <effect>" of timer starts committed but not handed to
   * BullMQ yet because they are due much later: a sweeper enqueues each shortly before it is
   * due, and a cancel committed before that drops it (src/calls/outbox-sweeper.ts).
   */
  deferred: string;
  /** Compact JSON record of a finished call; outlives the call hash. */
  record: string;
  /**
   * List of the call's committed transitions (JSON entries, oldest first, capped), appended by
   * the commit script; once the call ends it lives as long as the record.
   */
  history: string;
  /** Hash of the call's media session: sessionId, state, owner process, lostAt. */
  media: string;
  /** Marker of a used media credential (single use). */
  mediaNonce(nonce: string): string;
  /** Marker of a cancelled timer job, so an add that races the cancel removes itself. */
  cancelledTimer(jobId: string): string;
}

export function callKeys(prefix: string, callId: string): CallKeys {
  const base = `${prefix}:call:{${callId}}`;
  return {
    call: base,
    outbox: `${base}:outbox`,
    deferred: `${base}:deferred`,
    record: `${base}:record`,
    history: `${base}:history`,
    media: `${base}:media`,
    mediaNonce: (nonce) => `${base}:media-nonce:${nonce}`,
    cancelledTimer: (jobId) => `${base}:timer-cancelled:${jobId}`,
  };
}

/** Sorted set callId → last change (ms) of calls that are live; drives the capacity limit. */
export const activeCallsKey = (prefix: string): string => `${prefix}:active-calls`;

/**
 * Sorted set callId → time of calls that may hold effects committed but not yet enqueued. Added
 * before such a commit, removed by the outbox sweeper once the call's outbox is empty. It is
 * not `{callId}`-tagged (one index for all calls), so it is written outside the commit script.
 */
export const outboxIndexKey = (prefix: string): string => `${prefix}:outbox-pending`;

/**
 * Sorted set callId → time (ms) of media sessions that are not ended (streaming or lost). Read by
 * every media process's orphan sweeper (src/media/orphan-sweeper.ts); not `{callId}`-tagged, so
 * it is only touched by single-key commands.
 */
export const mediaOpenKey = (prefix: string): string => `${prefix}:media-open`;

/** String with a PX of a few refresh intervals: the media process `owner` is alive. */
export const mediaOwnerKey = (prefix: string, owner: string): string =>
  `${prefix}:media-owner:${owner}`;

/**
 * Sorted set callId → time the invite arrived (ms), of live and recently finished calls: the
 * operator's list pages through it (src/admin/call-list.ts). Global, so written outside the
 * commit script: by the 'started' effect of the live-calls index (src/queues/producer.ts).
 * Capped; entries whose call and record are both gone are dropped when read.
 */
export const recentCallsKey = (prefix: string): string => `${prefix}:calls-recent`;

/**
 * Capped stream of every committed transition of every call (the operator's live feed, read by
 * `GET /admin/api/events` on every replica). Global, so written right after the commit, not
 * by it.
 */
export const transitionsKey = (prefix: string): string => `${prefix}:transitions`;

/** BullMQ prefix: hash-tagged so every queue key lands in one cluster slot. */
export const queuePrefix = (prefix: string): string => `{${prefix}-q}`;
