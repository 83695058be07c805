/**
 * The media session registry in Redis, next to the call (same `{callId}` hash tag): which
 * session streams a call, whether it is lost and since when, and the single-use credential
 * nonces. Any media process can resume a session another one lost.
 *
 * Two keys outside the calls' slots serve the orphan sweeper (./orphan-sweeper.ts): the index
 * of open sessions (`media-open`, written after the session hash so a session in it always has
 * one) and each media process's liveness key. Both are only touched by single-key commands.
 */
import type { RedisClient } from '../redis/client.js';
import { callKeys, mediaOpenKey, mediaOwnerKey } from '../redis/keys.js';
import {
  forgetIfUnchangedScript,
  mediaEndIfStillLostScript,
  mediaMarkLostIfOwnedScript,
  mediaResumeScript,
  type ResumeReply,
} from '../redis/scripts.js';
import type { SpeakerMap } from './recording/index.js';
import { speakersOfSnapshot } from './roster-sources.js';

export type SessionState = 'streaming' | 'lost' | 'ended';

export type ResumeResult = ResumeReply;

/** The media hash of a call as read (`lostAt` only while lost). */
/** What a media session polls of its call. */
export interface CallMediaState {
  persist: { allowed: boolean; stopGen: number | undefined };
  speakers: { version: number; sources: SpeakerMap } | 'unchanged' | undefined;
}

export interface StoredSession {
  sessionId: string;
  state: SessionState;
  owner: string;
  lostAt: number | undefined;
}

export interface MediaSessionStore {
  /** Claim a call credential's nonce; false when it was used before. */
  claimNonce(callId: string, nonce: string, ttlMs: number): Promise<boolean>;
  start(callId: string, sessionId: string, owner: string): Promise<void>;
  /**
   * Take over a lost session for a resume within `windowMs` of its loss; refused when unknown,
   * ended, past its window (`expired`) or still streaming (`live`: a second connection must not
   * take a session from a live one). A session still streaming for a process whose liveness key
   * is gone is lost, and is taken over.
   */
  resume(
    callId: string,
    sessionId: string,
    owner: string,
    window: { now: number; windowMs: number },
  ): Promise<ResumeResult>;
  markLost(callId: string, sessionId: string, at: number): Promise<void>;
  /** End the session if it is still lost since `lostAt` (nobody resumed it); true if ended now. */
  endIfStillLost(callId: string, sessionId: string, lostAt: number): Promise<boolean>;
  markEnded(callId: string, sessionId: string): Promise<void>;
  /**
   * The call's `persist` flag (media may be written only while it is '1') and the generation
   * of its latest stop of persisting, which a session confirms with MEDIA.STOPPED.
   */
  persistState(callId: string): Promise<{ allowed: boolean; stopGen: number | undefined }>;
  /**
   * The call's source → owner map from its committed roster, or 'unchanged' when the call's
   * version is still `sinceVersion`; undefined when the call is unknown (expired).
   */
  speakers(
    callId: string,
    sinceVersion: number,
  ): Promise<{ version: number; sources: SpeakerMap } | 'unchanged' | undefined>;
  /**
   * Both of the above in one round trip (a session polls them together): the version and the
   * flag come in one HMGET, and only a changed version costs a second read, of the snapshot.
   */
  callState(callId: string, sinceVersion: number): Promise<CallMediaState>;
  /**
   * `callState` of many calls at once, the polls of every session of a process: their flags in
   * one round trip on a single server (a pipeline; a Cluster spreads the calls over its slots,
   * so there one read each, side by side). Undefined for a call whose read failed.
   */
  callStates(
    polls: readonly { callId: string; sinceVersion: number }[],
  ): Promise<(CallMediaState | undefined)[]>;
  /** The call's media hash; undefined when there is none (expired, or never started). */
  read(callId: string): Promise<StoredSession | undefined>;
  /**
   * Mark the session lost at `at` if it is still streaming for `owner` (its process died); false
   * when anything changed since it was read (a resume on another process, an end).
   */
  markLostIfOwned(callId: string, sessionId: string, owner: string, at: number): Promise<boolean>;
  /** Open sessions, oldest first, with the index score (for `forget`). */
  openSessions(limit: number): Promise<{ callId: string; score: string }[]>;
  /** Drop a call from the open index, only if nobody re-added it since `score` was read. */
  forget(callId: string, score: string): Promise<void>;
  /** Refresh (or create) a media process's liveness key. */
  keepAlive(owner: string, ttlMs: number): Promise<void>;
  ownerAlive(owner: string): Promise<boolean>;
  /** Delete the liveness key (graceful close: its sessions are swept at once). */
  release(owner: string): Promise<void>;
}

/** The call hash's fields a session polls: version, persist flag, latest stop generation. */
const FLAGS = ['v', 'persist', 'stop'] as const;

const persistFlag = (persist: string | null | undefined, stop: string | null | undefined) => ({
  allowed: persist === '1',
  stopGen: stop ? Number(stop) : undefined,
});

export function createMediaSessionStore(
  redis: RedisClient,
  prefix: string,
  ttlMs = 86_400_000,
): MediaSessionStore {
  const keys = (callId: string) => callKeys(prefix, callId);
  const open = mediaOpenKey(prefix);
  const opened = (callId: string) => redis.zadd(open, Date.now(), callId);
  const pipelining = !('isCluster' in redis && redis.isCluster);
  /** The call's speakers at `version`: 'unchanged' at `sinceVersion`, else from its snapshot. */
  async function speakersAt(
    callId: string,
    version: number,
    sinceVersion: number,
  ): Promise<CallMediaState['speakers']> {
    if (version === 0) return undefined;
    if (version === sinceVersion) return 'unchanged';
    // read together: a commit between two reads must not pair a version with another snapshot
    const [v, snap] = await redis.hmget(keys(callId).call, 'v', 'snap');
    if (!v || !snap) return undefined;
    return { version: Number(v), sources: speakersOfSnapshot(snap) };
  }
  /** A call's media state from its flags (`FLAGS`), reading its snapshot when it changed. */
  async function stateOf(
    callId: string,
    sinceVersion: number,
    [v, persist, stop]: (string | null)[],
  ): Promise<CallMediaState> {
    const speakers = await speakersAt(callId, Number(v ?? 0), sinceVersion);
    return { persist: persistFlag(persist, stop), speakers };
  }
  const store: MediaSessionStore = {
    async claimNonce(callId, nonce, nonceTtlMs) {
      return (
        (await redis.set(keys(callId).mediaNonce(nonce), '1', 'PX', nonceTtlMs, 'NX')) === 'OK'
      );
    },
    async start(callId, sessionId, owner) {
      const key = keys(callId).media;
      await redis
        .multi()
        .del(key)
        .hset(key, 'sessionId', sessionId, 'state', 'streaming', 'owner', owner)
        .pexpire(key, ttlMs)
        .exec();
      await opened(callId);
    },
    async resume(callId, sessionId, owner, { now, windowMs }) {
      const key = keys(callId).media;
      const attempt = () => mediaResumeScript.run(redis, [key], [sessionId, owner, now, windowMs]);
      let result = await attempt();
      if (result === 'live') {
        // its process died and no sweep has seen it yet: lost now (compare-and-set, so a sweep
        // or another resume racing this one wins or loses as a whole)
        const held = await store.read(callId);
        if (
          held?.sessionId === sessionId &&
          held.state === 'streaming' &&
          !(await store.ownerAlive(held.owner)) &&
          (await store.markLostIfOwned(callId, sessionId, held.owner, now))
        ) {
          result = await attempt();
        }
      }
      if (result === 'ok') await opened(callId); // the sweeper may have dropped it meanwhile
      return result;
    },
    async markLost(callId, sessionId, at) {
      const key = keys(callId).media;
      if ((await redis.hget(key, 'sessionId')) !== sessionId) return;
      await redis.hset(key, 'state', 'lost', 'lostAt', String(at));
    },
    async endIfStillLost(callId, sessionId, lostAt) {
      const ended = await mediaEndIfStillLostScript.run(
        redis,
        [keys(callId).media],
        [sessionId, lostAt],
      );
      if (ended) await redis.zrem(open, callId);
      return ended;
    },
    async markEnded(callId, sessionId) {
      const key = keys(callId).media;
      if ((await redis.hget(key, 'sessionId')) !== sessionId) return;
      await redis.hset(key, 'state', 'ended');
      await redis.zrem(open, callId);
    },
    async persistState(callId) {
      const [persist, stop] = await redis.hmget(keys(callId).call, 'persist', 'stop');
      return persistFlag(persist, stop);
    },
    async callState(callId, sinceVersion) {
      const flags = await redis.hmget(keys(callId).call, ...FLAGS);
      return stateOf(callId, sinceVersion, flags);
    },
    async callStates(polls) {
      if (polls.length === 0) return [];
      if (!pipelining) {
        return Promise.all(
          polls.map((p) => store.callState(p.callId, p.sinceVersion).catch(() => undefined)),
        );
      }
      const pipeline = redis.pipeline();
      for (const p of polls) pipeline.hmget(keys(p.callId).call, ...FLAGS);
      const replies = await pipeline.exec().catch(() => null);
      return Promise.all(
        polls.map(async (p, i) => {
          const [error, flags] = replies?.[i] ?? [new Error('no reply')];
          if (error) return undefined;
          return stateOf(p.callId, p.sinceVersion, flags as (string | null)[]).catch(
            () => undefined,
          );
        }),
      );
    },
    async speakers(callId, sinceVersion) {
      const version = Number((await redis.hget(keys(callId).call, 'v')) ?? 0);
      return speakersAt(callId, version, sinceVersion);
    },
    async read(callId) {
      const [sessionId, state, owner, lostAt] = await redis.hmget(
        keys(callId).media,
        'sessionId',
        'state',
        'owner',
        'lostAt',
      );
      if (!sessionId || !state) return undefined;
      return {
        sessionId,
        state: state as SessionState,
        owner: owner ?? '',
        lostAt: lostAt ? Number(lostAt) : undefined,
      };
    },
    async markLostIfOwned(callId, sessionId, owner, at) {
      const key = keys(callId).media;
      return mediaMarkLostIfOwnedScript.run(redis, [key], [sessionId, owner, at]);
    },
    async openSessions(limit) {
      const flat = await redis.zrange(open, '0', String(limit - 1), 'WITHSCORES');
      const out: { callId: string; score: string }[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2)
        out.push({ callId: flat[i]!, score: flat[i + 1]! });
      return out;
    },
    async forget(callId, score) {
      await forgetIfUnchangedScript.run(redis, [open], [callId, score]);
    },
    async keepAlive(owner, ownerTtlMs) {
      await redis.set(mediaOwnerKey(prefix, owner), '1', 'PX', ownerTtlMs);
    },
    async ownerAlive(owner) {
      return (await redis.exists(mediaOwnerKey(prefix, owner))) === 1;
    },
    async release(owner) {
      await redis.del(mediaOwnerKey(prefix, owner));
    },
  };
  return store;
}
