/**
 * Loads and commits call snapshots. A call's truth is its hash in Redis: the persisted XState
 * snapshot plus a version; every commit is the compare-and-set of `src/redis/lua/commit.lua`.
 *
 * Round trips are the cost that matters here (docs/benchmarks.md, B3). On a single Redis server
 * the writes waiting to be written (acknowledgements, the operator feed's entries), the outbox
 * announcement and the commit script go out as one pipeline, in that order (Redis runs one
 * connection's commands in order, so the announcement still lands before the commit). On Redis
 * Cluster they touch different slots and go one by one.
 */
import { hash } from 'node:crypto';
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from '../redis/client.js';
import type { PipelineReply, Rider } from '../redis/rider.js';
import { CALL_MACHINE_VERSION, type CallContext } from '../../machines/call.js';
import { packRoster, unpackRoster, type PackedRoster } from '../../machines/roster.js';
import { callKeys, CALL_ID_PATTERN, outboxIndexKey } from '../redis/keys.js';
import { commitScript, forgetIfDrainedScript } from '../redis/scripts.js';
import { compressSnapshot, snapshotJson } from '../redis/snapshot-codec.js';
import { CANCEL_MEMORY_S, QUEUE, type EffectRecord } from '../queues/jobs.js';
import { timerJobId } from './effects.js';
import {
  HISTORY_MAX_DEFAULT,
  parseHistory,
  historyDropped,
  storedHistoryEntry,
  type HistoryEntry,
} from './history.js';
import { ATTR, SpanKind, withSpan, type TraceCarrier } from '../telemetry/index.js';

export interface StoredCall {
  version: number;
  /** Persisted snapshot JSON, or undefined for a call this system has never seen. */
  snapshot: unknown;
  /** Trace context of the call's first trace; later events link to it. */
  trace?: TraceCarrier | undefined;
}

export interface CommitRequest {
  callId: string;
  expectedVersion: number;
  snapshot: unknown;
  state: string;
  done: boolean;
  /** Whether media may be written now (the media process reads this field). */
  persist: boolean;
  /** Generation of the latest stop of persisting, which the media process confirms. */
  stopGen?: number | undefined;
  /** Compact record to keep after the call expires (finished calls only). */
  record?: unknown;
  dedupId?: string;
  /** The effects to hand to BullMQ now; written to the outbox in one entry. */
  effects: EffectRecord[];
  /**
   * Timer starts due much later, kept with the call until a sweeper hands each to BullMQ, at
   * its `score` in the outbox index; a cancel among `effects` whose start is still kept drops it.
   */
  deferred?: DeferredStart[];
  /** The trace to remember as the call's first (only the first commit's is kept). */
  trace?: TraceCarrier | undefined;
  /**
   * Announce the call in the outbox index with this score (ms) before the commit, so a sweeper
   * finds its effects if this process dies before they are enqueued and acknowledged.
   */
  announceAt?: number | undefined;
  /** The transition's history entry, appended atomically with the commit. */
  history?: HistoryEntry;
  /** The call's summary for the operator's list (src/calls/call-summary.ts). */
  summary?: unknown;
}

export interface StoredHistory {
  entries: HistoryEntry[];
  /** Entries shed by the cap before the oldest kept one. */
  dropped: number;
}

/** A timer start kept with its call, not yet in BullMQ. */
export interface DeferredStart {
  /** The outbox index score at which a sweeper hands it to BullMQ (ms). */
  score: number;
  effect: Extract<EffectRecord, { fireAt: number }>;
}

export interface OutboxEntry {
  id: string;
  /** Redis server time (ms) of the commit that wrote it. */
  at: number;
  effect: EffectRecord;
}

export type CommitResult =
  | {
      kind: 'committed';
      version: number;
      outboxIds: string[];
      /** Job ids of the cancels whose start was still deferred: dropped, nothing to enqueue. */
      dropped: string[];
    }
  | { kind: 'duplicate' }
  | { kind: 'conflict'; currentVersion: number };

export interface SnapshotStore {
  load(callId: string): Promise<StoredCall>;
  commit(request: CommitRequest): Promise<CommitResult>;
  /** Whether a delivery with this dedup id was committed (its token is still kept). */
  seen(callId: string, dedupId: string): Promise<boolean>;
  /** The call's committed state name (`live.establishing`), undefined for a call not stored. */
  state(callId: string): Promise<string | undefined>;
  /** Drop outbox entries whose effects are safely in BullMQ. */
  ackOutbox(callId: string, ids: string[]): Promise<void>;
  /**
   * The same, written within `ackDelayMs` with the next commit's round trip or in one batch of
   * its own. An acknowledgement lost to a crash only makes a sweeper re-drive effects that are
   * already enqueued, which is a no-op (deterministic job ids). With `announcedAt` (the score
   * the commit announced), the same round trip drops the call from the outbox index if that
   * left its outbox empty and nobody announced it again (single server only; elsewhere the
   * sweepers forget it).
   */
  ackOutboxSoon(callId: string, ids: string[], riders?: Rider[], announcedAt?: number): void;
  /**
   * Whether `ackOutboxSoon` takes riders: the commands a commit's effects still need (the
   * live-calls index, a timer's cancel check) sent with a later round trip, the
   * acknowledgement only once they all succeeded. A single server only (one pipeline).
   */
  readonly ridesWrites: boolean;
  /**
   * A best-effort append to a capped stream (`XADD stream MAXLEN ~ maxLen * data <data>`, e.g.
   * the operator's feed), sent with the next commit's round trip or, within `ackDelayMs`, in one
   * batch of its own; appends keep the order they were given in. A failure is dropped: only for
   * what may be lost with a crash, never for the call's truth.
   */
  appendSoon(stream: string, maxLen: number, data: string): void;
  /** Write the acknowledgements and writes that wait now. */
  flushAcks(): Promise<void>;
  /**
   * Sends the commands `queue` adds after the writes waiting now, in one round trip (a read
   * then sees this process's own waiting writes), and returns their replies.
   */
  sendAfterPending(queue: (pipeline: ChainableCommander) => number): Promise<PipelineReply[]>;
  /** The oldest entries of a call's outbox: stream id (its ms part is Redis time) and effect. */
  readOutbox(callId: string, count?: number): Promise<OutboxEntry[]>;
  /** The call's deferred timer starts (at most a few: one per timer). */
  readDeferred(callId: string): Promise<DeferredStart[]>;
  /** Forget deferred starts that are in BullMQ now. */
  dropDeferred(callId: string, jobIds: string[]): Promise<void>;
  /** The compact record of a finished call, while it is retained. */
  loadRecord(callId: string): Promise<unknown>;
  /** The call's committed transitions still kept, oldest first. */
  loadHistory(callId: string): Promise<StoredHistory>;
}

/**
 * A delivery's or job result's dedup token as the call hash keeps it: 96 bits of its id's
 * SHA-256, base64url (a call keeps at most a few hundred, so a collision is out of reach).
 */
const dedupToken = (dedupId: string): string => hash('sha256', dedupId, 'base64url').slice(0, 16);

/** Whether the call hash's `dd` field holds `token` unexpired (the format of commit.lua). */
function dedupTokenKept(tokens: string, token: string, now: number): boolean {
  for (const entry of tokens.split(' ')) {
    const [kept, expiry] = entry.split('=');
    if (kept === token && Number(expiry) >= now) return true;
  }
  return false;
}

const nowS = (): number => Math.floor(Date.now() / 1000);

type WithRoster<R> = { context?: { roster?: R } } | null | undefined;

/**
 * The persisted snapshot as the call hash stores it: its roster packed (`packRoster`: no derived
 * source map, no participant's identities repeated in its join history), and then its JSON
 * deflated (`compressSnapshot`).
 */
function packSnapshot(snapshot: unknown): unknown {
  const s = snapshot as WithRoster<CallContext['roster']>;
  if (!s?.context?.roster) return snapshot;
  return { ...s, context: { ...s.context, roster: packRoster(s.context.roster) } };
}

/**
 * A stored snapshot (the call hash's `snap`) as the machine persisted it: inflated
 * (`snapshotJson`), the roster unpacked. Whoever reads `snap` reads it through this; a snapshot
 * stored whole passes unchanged.
 */
export function parseSnapshot(stored: string): unknown {
  const s = JSON.parse(snapshotJson(stored)) as WithRoster<PackedRoster>;
  const roster = s?.context?.roster;
  const usable = roster && typeof roster.participants === 'object' && roster.participants !== null;
  if (usable && Array.isArray(roster.history)) {
    s.context!.roster = unpackRoster(roster);
  }
  return s;
}

/**
 * A deferred start as the call keeps it: "<score> …" (Lua reads the score, the sweeper the
 * rest). Packed, a start as `toEffectRecords` makes it is "<score> t2 <fireAt − score> <gen>
 * <timerId> <event without its TIMER. prefix>", its call and job id implied by the key: ≈ 50
 * bytes against ≈ 300 of JSON, and under Redis's 64-byte bound for a hash kept as one compact
 * listpack (`hash-max-listpack-value`; one longer value turns the whole hash into a table, ≈ 2 ×
 * the memory). The first packed form, "<score> t1 <fireAt> <gen> <timerId> <event>", is still
 * read. Any other start, and every start when packing is off, is "<score> <effect JSON>".
 */
function deferredValue(d: DeferredStart, packing: boolean): string {
  const { effect } = d;
  const { callId, timerId, event, gen, ...more } = effect.data;
  const plain =
    packing &&
    Object.keys(more).length === 0 &&
    effect.name === timerId &&
    effect.jobId === timerJobId(callId, timerId, gen) &&
    event.startsWith(TIMER_EVENT) &&
    Number.isSafeInteger(effect.fireAt) &&
    Number.isSafeInteger(d.score) &&
    Number.isSafeInteger(gen);
  return plain
    ? `${d.score} t2 ${effect.fireAt - d.score} ${gen} ${timerId} ${event.slice(TIMER_EVENT.length)}`
    : `${d.score} ${JSON.stringify(effect)}`;
}

const TIMER_EVENT = 'TIMER.';

/** A deferred start of `callId` from its stored value; undefined for one not in any form. */
function deferredStart(callId: string, value: string): DeferredStart | undefined {
  const [score, form, time, gen, timerId, event] = value.split(' ', 6);
  if (!score || form === undefined || !Number.isFinite(Number(score))) return undefined;
  if (form !== 't1' && form !== 't2') {
    const effect = JSON.parse(value.slice(score.length + 1)) as DeferredStart['effect'];
    return { score: Number(score), effect };
  }
  if (!timerId || !event || !Number.isSafeInteger(Number(time))) return undefined;
  if (!Number.isSafeInteger(Number(gen))) return undefined;
  const fireAt = form === 't2' ? Number(score) + Number(time) : Number(time);
  if (!Number.isSafeInteger(fireAt)) return undefined;
  const data = {
    callId,
    timerId,
    event: form === 't2' ? TIMER_EVENT + event : event,
    gen: Number(gen),
  } as DeferredStart['effect']['data'];
  return {
    score: Number(score),
    effect: {
      queue: QUEUE.timers,
      name: data.timerId,
      jobId: timerJobId(callId, data.timerId, data.gen),
      data,
      fireAt,
    },
  };
}

export interface SnapshotStoreOptions {
  prefix: string;
  /** How long a delivery's dedup token is kept. @default 600000 */
  dedupTtlMs?: number;
  /**
   * Dedup tokens kept per call at most (the oldest go first), which bounds the call hash of a
   * long, busy call. @default 128
   */
  dedupMax?: number;
  /**
   * Store the snapshot's roster packed (`packRoster`); either form is read. Off while processes
   * of a build that cannot read it still run. @default true
   */
  packRoster?: boolean;
  /** How long a finished call stays in Redis. @default 3600000 */
  retentionMs?: number;
  /** How long a finished call's compact record stays. @default 2592000000 */
  recordRetentionMs?: number;
  /** History entries kept per call. @default 200 */
  historyMax?: number;
  /**
   * Longest wait of an acknowledgement or another waiting write for a commit to ride with; keep
   * it well below the outbox sweeper's grace. @default 50
   */
  ackDelayMs?: number;
}

/** Writes waiting for a round trip. */
interface Pending {
  /** Acknowledgements: outbox key → entry ids (one XDEL per key). */
  acks: Map<string, string[]>;
  /** Index entries to drop once the acknowledgements emptied their outbox: call → score. */
  forgets: Map<string, number>;
  /** Riders of commits, each group acknowledged once all of its riders succeeded. */
  riding: RidingGroup[];
  /** Stream appends, in the order they were given. */
  appends: StreamAppend[];
}
interface RidingGroup {
  riders: Rider[];
  /** The outbox entries to acknowledge after the riders: their call and ids. */
  callId: string;
  ids: string[];
  announcedAt: number | undefined;
}
interface StreamAppend {
  stream: string;
  maxLen: number;
  data: string;
}
const emptyPending = (): Pending => ({
  acks: new Map(),
  forgets: new Map(),
  riding: [],
  appends: [],
});
const isEmpty = (p: Pending): boolean =>
  p.acks.size + p.forgets.size + p.riding.length + p.appends.length === 0;

export class MachineVersionError extends Error {
  override name = 'MachineVersionError';
}

export function createSnapshotStore(
  redis: RedisClient,
  options: SnapshotStoreOptions,
): SnapshotStore {
  const dedupTtlS = Math.max(1, Math.ceil((options.dedupTtlMs ?? 600_000) / 1000));
  const dedupMax = options.dedupMax ?? 128;
  const packing = options.packRoster ?? true;
  const retentionMs = options.retentionMs ?? 3_600_000;
  const recordRetentionMs = options.recordRetentionMs ?? 30 * 86_400_000;
  const historyMax = options.historyMax ?? HISTORY_MAX_DEFAULT;
  const keysOf = (callId: string) => {
    if (!CALL_ID_PATTERN.test(callId)) throw new Error(`invalid call id ${JSON.stringify(callId)}`);
    return callKeys(options.prefix, callId);
  };

  const ackDelayMs = options.ackDelayMs ?? 50;
  /** A single server takes one pipeline for everything; a cluster's slots live on many nodes. */
  const pipelining = !('isCluster' in redis && redis.isCluster);
  /** Writes waiting for a round trip: one XDEL per outbox key, then the others in order. */
  let pending = emptyPending();
  let ackTimer: NodeJS.Timeout | undefined;

  function takePending(): Pending {
    const taken = pending;
    pending = emptyPending();
    if (ackTimer) clearTimeout(ackTimer);
    ackTimer = undefined;
    return taken;
  }

  function soon(): void {
    ackTimer ??= setTimeout(() => void writePending(takePending()), ackDelayMs).unref();
  }

  /** Riders whose replies are being handled (`flushAcks` waits for them). */
  const settling = new Set<Promise<void>>();

  function addAck(callId: string, ids: string[], announcedAt: number | undefined): void {
    if (ids.length === 0 && announcedAt === undefined) return;
    const key = keysOf(callId).outbox;
    if (ids.length > 0) pending.acks.set(key, [...(pending.acks.get(key) ?? []), ...ids]);
    // the latest announcement of this process is the only one still able to match
    if (announcedAt !== undefined && pipelining)
      pending.forgets.set(callId, Math.max(announcedAt, pending.forgets.get(callId) ?? 0));
    soon();
  }

  /**
   * Queues the waiting writes on `pipeline` (acknowledgements, riders, appends) and returns how
   * many commands that was and what to do with their replies (the pipeline's first ones).
   */
  function queuePending(
    pipeline: ChainableCommander,
    p: Pending,
  ): { count: number; settle: (replies: PipelineReply[]) => void } {
    let count = 0;
    for (const [key, ids] of p.acks) {
      pipeline.xdel(key, ...ids);
      count += 1;
    }
    const index = outboxIndexKey(options.prefix);
    const forgets = [...p.forgets].map(([callId, score]) => {
      const at = count;
      const { outbox, deferred } = keysOf(callId);
      const keys: [string, string, string] = [index, outbox, deferred];
      const args: [string, number] = [callId, score];
      forgetIfDrainedScript.queue(pipeline, keys, args);
      count += 1;
      return { at, keys, args };
    });
    const groups = p.riding.map((group) => ({
      group,
      ranges: group.riders.map((rider) => {
        const from = count;
        count += rider.queue(pipeline);
        return [from, count] as const;
      }),
    }));
    for (const a of p.appends) {
      pipeline.xadd(a.stream, 'MAXLEN', '~', a.maxLen, '*', 'data', a.data);
      count += 1;
    }
    return {
      count,
      settle: (replies) => {
        // a server that lost its scripts: load it once; a sweeper forgets the call meanwhile
        const noScript = forgets.find(({ at }) =>
          forgetIfDrainedScript.isNoScript(replies[at]?.[0]),
        );
        if (noScript)
          void forgetIfDrainedScript.run(redis, noScript.keys, noScript.args).catch(() => false);
        for (const { group, ranges } of groups) {
          const done = settleGroup(group, ranges, replies).catch(() => undefined);
          settling.add(done);
          void done.finally(() => settling.delete(done));
        }
      },
    };
  }

  /**
   * A group's riders get their replies in order; once all succeeded, its outbox entries are
   * acknowledged (with a later round trip). A rider that failed, or replies that never came,
   * leave the entries to the sweeper, which re-drives the effects (each of them idempotent).
   */
  async function settleGroup(
    group: RidingGroup,
    ranges: (readonly [number, number])[],
    replies: PipelineReply[],
  ): Promise<void> {
    for (const [i, rider] of group.riders.entries()) {
      const [from, to] = ranges[i]!;
      const mine = replies.slice(from, to);
      if (mine.length !== to - from || mine.some(([error]) => error)) return;
      await rider.settle?.(mine);
    }
    addAck(group.callId, group.ids, group.announcedAt);
  }

  /**
   * Sends `pipeline`, whose first commands are the waiting writes `queued`, and hands the riders
   * among them their replies (none when the pipeline failed as a whole).
   */
  async function execWithPending(
    pipeline: ChainableCommander,
    queued: ReturnType<typeof queuePending>,
  ): Promise<PipelineReply[]> {
    const replies = await pipeline.exec().catch((error: unknown) => {
      queued.settle([]);
      throw error;
    });
    queued.settle(replies ?? []);
    return replies ?? [];
  }

  /**
   * Best effort: an acknowledgement that fails leaves its effects to the sweeper (a no-op); a
   * feed entry that fails is missing from the live view only.
   */
  async function writePending(p: Pending): Promise<void> {
    if (isEmpty(p)) return;
    if (pipelining) {
      const pipeline = redis.pipeline();
      await execWithPending(pipeline, queuePending(pipeline, p)).catch(() => undefined);
      return;
    }
    await Promise.all([
      ...[...p.acks].map(([key, ids]) => redis.xdel(key, ...ids).catch(() => 0)),
      ...p.appends.map((a) =>
        redis.xadd(a.stream, 'MAXLEN', '~', a.maxLen, '*', 'data', a.data).catch(() => null),
      ),
    ]);
  }

  function commitArgs(req: CommitRequest) {
    const keys = keysOf(req.callId);
    const cancels = req.effects.filter(
      (e) => e.queue === QUEUE.timers && e.name === 'cancel' && e.marked,
    );
    const cancelled = cancels.map((e) => keys.cancelledTimer(e.jobId));
    const deferred = req.deferred ?? [];
    return {
      keys: [
        keys.call,
        keys.outbox,
        keys.record,
        keys.history,
        keys.deferred,
        ...cancelled,
      ] as Parameters<typeof commitScript.run>[1],
      args: [
        req.expectedVersion,
        packing
          ? compressSnapshot(JSON.stringify(packSnapshot(req.snapshot)))
          : JSON.stringify(req.snapshot),
        req.dedupId ? dedupToken(req.dedupId) : '',
        CALL_MACHINE_VERSION,
        req.state,
        req.done ? 'done' : 'active',
        retentionMs,
        req.persist ? '1' : '0',
        req.record === undefined ? '' : JSON.stringify(req.record),
        recordRetentionMs,
        req.trace ? JSON.stringify(req.trace) : '',
        req.stopGen ?? '',
        req.effects.length > 0 ? JSON.stringify(req.effects) : '',
        cancelled.length > 0 ? CANCEL_MEMORY_S : '',
        req.history
          ? packing
            ? storedHistoryEntry(req.history)
            : JSON.stringify(req.history)
          : JSON.stringify({ seq: req.expectedVersion + 1 }),
        historyMax,
        req.summary === undefined ? '' : JSON.stringify(req.summary),
        nowS(),
        dedupTtlS,
        dedupMax,
        deferred.length,
        ...deferred.flatMap((d) => [d.effect.jobId, deferredValue(d, packing)]),
        ...cancels.map((e) => e.jobId),
      ] as Parameters<typeof commitScript.run>[2],
    };
  }

  function decodeCommit(reply: (string | number)[]): CommitResult {
    const [code, second, outboxId, ...dropped] = reply;
    if (Number(code) === -1) return { kind: 'duplicate' };
    if (Number(code) === -2) return { kind: 'conflict', currentVersion: Number(second) };
    return {
      kind: 'committed',
      version: Number(code),
      outboxIds: outboxId ? [String(outboxId)] : [],
      dropped: dropped.map(String),
    };
  }

  async function commitOnce(req: CommitRequest): Promise<CommitResult> {
    const { keys, args } = commitArgs(req);
    const index = outboxIndexKey(options.prefix);
    if (!pipelining) {
      void writePending(takePending());
      if (req.announceAt !== undefined) await redis.zadd(index, req.announceAt, req.callId);
      return decodeCommit(await commitScript.run(redis, keys, args));
    }
    const pipeline = redis.pipeline();
    const waiting = takePending();
    // this commit announces the call again right after: dropping it from the index first would
    // only be undone (its own acknowledgement will drop it)
    if (req.announceAt !== undefined) waiting.forgets.delete(req.callId);
    const queued = queuePending(pipeline, waiting);
    const riders = queued.count;
    if (req.announceAt !== undefined) pipeline.zadd(index, req.announceAt, req.callId);
    commitScript.queue(pipeline, keys, args);
    const replies = await execWithPending(pipeline, queued);
    const [announceError] = replies[riders] ?? [];
    const [commitError, reply] = replies[replies.length - 1] ?? [new Error('no commit reply')];
    if (commitError && !commitScript.isNoScript(commitError)) throw commitError;
    if (req.announceAt !== undefined && announceError) {
      // the commit may have gone through unannounced: announce again before anything else
      await redis.zadd(index, req.announceAt, req.callId);
    }
    // NOSCRIPT (a restarted or flushed server): the script text once, then EVALSHA again
    if (commitError) return decodeCommit(await commitScript.run(redis, keys, args));
    return decodeCommit(commitScript.decode(reply));
  }

  return {
    async load(callId) {
      const [v, snap, mv, trace] = await redis.hmget(
        keysOf(callId).call,
        'v',
        'snap',
        'mv',
        'trace',
      );
      if (snap == null) return { version: Number(v ?? 0), snapshot: undefined };
      if (Number(mv) !== CALL_MACHINE_VERSION) {
        throw new MachineVersionError(
          `call ${callId} was stored by machine version ${mv}, this build runs ${CALL_MACHINE_VERSION}`,
        );
      }
      return {
        version: Number(v),
        snapshot: parseSnapshot(snap),
        trace: trace ? (JSON.parse(trace) as TraceCarrier) : undefined,
      };
    },

    commit: (req) =>
      withSpan(
        'redis commit',
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'db.system.name': 'redis',
            'db.operation.name': 'EVALSHA',
            [ATTR.callId]: req.callId,
            [ATTR.version]: req.expectedVersion + 1,
          },
        },
        async (span) => {
          const result = await commitOnce(req);
          span.setAttribute(ATTR.outcome, result.kind);
          return result;
        },
      ),

    async loadRecord(callId) {
      const keys = keysOf(callId);
      const [json, raw] = await Promise.all([
        redis.get(keys.record),
        redis.lrange(keys.history, 0, -1),
      ]);
      if (json === null) return undefined;
      const entries = parseHistory(raw);
      return {
        ...(JSON.parse(json) as object),
        history: entries,
        historyDropped: historyDropped(entries),
      };
    },

    async loadHistory(callId) {
      const entries = parseHistory(await redis.lrange(keysOf(callId).history, 0, -1));
      return { entries, dropped: historyDropped(entries) };
    },

    async seen(callId, dedupId) {
      const tokens = await redis.hget(keysOf(callId).call, 'dd');
      return tokens !== null && dedupTokenKept(tokens, dedupToken(dedupId), nowS());
    },

    async state(callId) {
      return (await redis.hget(keysOf(callId).call, 'state')) ?? undefined;
    },

    async ackOutbox(callId, ids) {
      if (ids.length > 0) await redis.xdel(keysOf(callId).outbox, ...ids);
    },

    ackOutboxSoon(callId, ids, riders = [], announcedAt) {
      if (riders.length === 0) {
        addAck(callId, ids, announcedAt);
        return;
      }
      if (!pipelining) throw new Error('riders need a single Redis server (one pipeline)');
      pending.riding.push({ riders, callId, ids, announcedAt });
      soon();
    },

    ridesWrites: pipelining,

    appendSoon(stream, maxLen, data) {
      pending.appends.push({ stream, maxLen, data });
      soon();
    },

    async sendAfterPending(queue) {
      if (!pipelining) {
        await writePending(takePending());
        const own = redis.pipeline();
        queue(own);
        return (await own.exec()) ?? [];
      }
      const pipeline = redis.pipeline();
      const queued = queuePending(pipeline, takePending());
      const count = queue(pipeline);
      const replies = await execWithPending(pipeline, queued);
      return replies.slice(queued.count, queued.count + count);
    },

    async flushAcks() {
      // riders' replies may add acknowledgements: those go in a second round
      for (let round = 0; round < 3 && (!isEmpty(pending) || settling.size > 0); round += 1) {
        await writePending(takePending());
        await Promise.all(settling);
      }
    },

    async readDeferred(callId) {
      const values = await redis.hvals(keysOf(callId).deferred);
      return values.flatMap((value) => deferredStart(callId, value) ?? []);
    },

    async dropDeferred(callId, jobIds) {
      if (jobIds.length > 0) await redis.hdel(keysOf(callId).deferred, ...jobIds);
    },

    async readOutbox(callId, count = 100) {
      const entries = await redis.xrange(keysOf(callId).outbox, '-', '+', 'COUNT', count);
      // one entry holds a commit's effects; entries of older builds hold one 'effect' each
      return entries.flatMap(([id, fields]) => {
        const at = Number(id.split('-')[0]);
        const many = fields.indexOf('effects');
        if (many >= 0 && fields[many + 1] !== undefined) {
          const effects = JSON.parse(fields[many + 1]!) as EffectRecord[];
          return effects.map((effect) => ({ id, at, effect }));
        }
        const json = fields[fields.indexOf('effect') + 1];
        if (json === undefined) return [];
        return [{ id, at, effect: JSON.parse(json) as EffectRecord }];
      });
    },
  };
}
