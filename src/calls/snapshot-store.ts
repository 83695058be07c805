/**
 * Loads and commits call snapshots. A call's truth is its hash in Redis: the persisted XState
 * snapshot plus a version; every commit is the compare-and-set of `src/redis/lua/commit.lua`.
 */
import type { RedisClient } from '../redis/client.js';
import { CALL_MACHINE_VERSION } from '../../machines/call.js';
import { callKeys, CALL_ID_PATTERN } from '../redis/keys.js';
import { commitScript } from '../redis/scripts.js';
import type { EffectRecord } from '../queues/jobs.js';
import { HISTORY_MAX_DEFAULT, parseHistory, historyDropped, type HistoryEntry } from './history.js';
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
  effects: EffectRecord[];
  /** The trace to remember as the call's first (only the first commit's is kept). */
  trace?: TraceCarrier | undefined;
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

export interface OutboxEntry {
  id: string;
  /** Redis server time (ms) of the commit that wrote it. */
  at: number;
  effect: EffectRecord;
}

export type CommitResult =
  | { kind: 'committed'; version: number; outboxIds: string[] }
  | { kind: 'duplicate' }
  | { kind: 'conflict'; currentVersion: number };

export interface SnapshotStore {
  load(callId: string): Promise<StoredCall>;
  commit(request: CommitRequest): Promise<CommitResult>;
  /** Whether a delivery with this dedup id was committed (its marker is still there). */
  seen(callId: string, dedupId: string): Promise<boolean>;
  /** Drop outbox entries whose effects are safely in BullMQ. */
  ackOutbox(callId: string, ids: string[]): Promise<void>;
  /** The oldest entries of a call's outbox: stream id (its ms part is Redis time) and effect. */
  readOutbox(callId: string, count?: number): Promise<OutboxEntry[]>;
  /** The compact record of a finished call, while it is retained. */
  loadRecord(callId: string): Promise<unknown>;
  /** The call's committed transitions still kept, oldest first. */
  loadHistory(callId: string): Promise<StoredHistory>;
}

export interface SnapshotStoreOptions {
  prefix: string;
  /** How long a notification's dedup marker lives. @default 600000 */
  dedupTtlMs?: number;
  /** How long a finished call stays in Redis. @default 3600000 */
  retentionMs?: number;
  /** How long a finished call's compact record stays. @default 2592000000 */
  recordRetentionMs?: number;
  /** History entries kept per call. @default 200 */
  historyMax?: number;
}

export class MachineVersionError extends Error {
  override name = 'MachineVersionError';
}

export function createSnapshotStore(
  redis: RedisClient,
  options: SnapshotStoreOptions,
): SnapshotStore {
  const dedupTtlMs = options.dedupTtlMs ?? 600_000;
  const retentionMs = options.retentionMs ?? 3_600_000;
  const recordRetentionMs = options.recordRetentionMs ?? 30 * 86_400_000;
  const historyMax = options.historyMax ?? HISTORY_MAX_DEFAULT;
  const keysOf = (callId: string) => {
    if (!CALL_ID_PATTERN.test(callId)) throw new Error(`invalid call id ${JSON.stringify(callId)}`);
    return callKeys(options.prefix, callId);
  };

  async function commitOnce(req: CommitRequest): Promise<CommitResult> {
    const keys = keysOf(req.callId);
    const reply = await commitScript.run(
      redis,
      [keys.call, keys.dedup(req.dedupId ?? 'none'), keys.outbox, keys.record, keys.history],
      [
        req.expectedVersion,
        JSON.stringify(req.snapshot),
        req.dedupId ? dedupTtlMs : '',
        CALL_MACHINE_VERSION,
        req.state,
        req.done ? 'done' : 'active',
        retentionMs,
        req.persist ? '1' : '0',
        req.record === undefined ? '' : JSON.stringify(req.record),
        recordRetentionMs,
        req.trace ? JSON.stringify(req.trace) : '',
        req.stopGen ?? '',
        JSON.stringify(req.history ?? { seq: req.expectedVersion + 1 }),
        historyMax,
        req.summary === undefined ? '' : JSON.stringify(req.summary),
        ...req.effects.map((e) => JSON.stringify(e)),
      ],
    );
    const [code, second, ...ids] = reply;
    if (Number(code) === -1) return { kind: 'duplicate' };
    if (Number(code) === -2) return { kind: 'conflict', currentVersion: Number(second) };
    return { kind: 'committed', version: Number(code), outboxIds: ids.map(String) };
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
        snapshot: JSON.parse(snap) as unknown,
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
      return (await redis.exists(keysOf(callId).dedup(dedupId))) === 1;
    },

    async ackOutbox(callId, ids) {
      if (ids.length > 0) await redis.xdel(keysOf(callId).outbox, ...ids);
    },

    async readOutbox(callId, count = 100) {
      const entries = await redis.xrange(keysOf(callId).outbox, '-', '+', 'COUNT', count);
      return entries.flatMap(([id, fields]) => {
        const json = fields[fields.indexOf('effect') + 1];
        if (json === undefined) return [];
        return [{ id, at: Number(id.split('-')[0]), effect: JSON.parse(json) as EffectRecord }];
      });
    },
  };
}
