/**
 * The operator's live feed on this replica: each open `GET /admin/api/events` reads the shared
 * stream of transitions (src/calls/transition-feed.ts) with its own blocking connection, so it
 * sees every replica's commits. Its first item (`open`) comes once its start point is fixed, so
 * a client told the stream is open misses nothing committed after that. A resume
 * (`Last-Event-ID`) replays what came after that id, at most `replayMax` entries (the newest; a
 * gap is said with a `truncated` item). A read that finds nothing within `heartbeatMs` yields a
 * heartbeat. `closeAll()` ends every open feed (drain): the blocked read is cut by closing its
 * connection, so a drain never waits on it.
 */
import type { RedisClient } from '../redis/client.js';
import { transitionsKey } from '../redis/keys.js';
import type { TransitionEvent } from '../calls/transition-feed.js';

export type FeedItem =
  /**
   * The feed's start point is fixed: every transition committed from now on will be sent. First
   * item of every feed, so a client told the stream is open misses nothing committed after.
   */
  | { kind: 'open' }
  | { kind: 'transition'; id: string; data: TransitionEvent }
  | { kind: 'heartbeat' }
  /** The resume point is older than what is replayed: some transitions are not sent. */
  | { kind: 'truncated' };

export interface TransitionStreams {
  /** How many feeds are open on this replica. */
  readonly open: number;
  /** True once `closeAll` was called: no feed opens any more. */
  readonly closed: boolean;
  /** A feed from after `after` (or from now), ending when `signal` aborts or on `closeAll`. */
  subscribe(options: {
    after?: string | undefined;
    callId?: string | undefined;
    signal: AbortSignal;
  }): AsyncGenerator<FeedItem>;
  /** End every open feed; resolves once they all ended (at most `waitMs`). */
  closeAll(waitMs?: number): Promise<void>;
}

export interface TransitionStreamsOptions {
  prefix: string;
  /** A fresh connection without a command timeout (a read blocks up to `heartbeatMs`). */
  connect: () => RedisClient;
  /** @default 15000 */
  heartbeatMs?: number;
  /** Entries replayed on a resume at most. @default 1000 */
  replayMax?: number;
}

/** A stream id (`<ms>-<seq>`) as sent in `id:` and accepted in `Last-Event-ID`. */
export const STREAM_ID = /^\d{1,15}-\d{1,10}$/;

/** Stream ids in order: compares `<ms>-<seq>` numerically. */
export function afterId(a: string, b: string): boolean {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
  return am > bm || (am === bm && as > bs);
}

const READ_COUNT = 100;

function parseEntry([id, fields]: [string, string[]]): FeedItem | undefined {
  const json = fields[fields.indexOf('data') + 1];
  if (json === undefined) return undefined;
  try {
    return { kind: 'transition', id, data: JSON.parse(json) as TransitionEvent };
  } catch {
    return undefined;
  }
}

export function createTransitionStreams(options: TransitionStreamsOptions): TransitionStreams {
  const key = transitionsKey(options.prefix);
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const replayMax = options.replayMax ?? 1000;
  const controllers = new Set<AbortController>();
  let closed = false;
  let allEnded: (() => void) | undefined;

  async function* subscribe({
    after,
    callId,
    signal,
  }: {
    after?: string | undefined;
    callId?: string | undefined;
    signal: AbortSignal;
  }): AsyncGenerator<FeedItem> {
    if (closed) return;
    const controller = new AbortController();
    const abort = () => controller.abort();
    signal.addEventListener('abort', abort, { once: true });
    controllers.add(controller);
    const redis = options.connect();
    redis.on('error', () => undefined); // a cut connection is how a feed ends
    controller.signal.addEventListener('abort', () => redis.disconnect(), { once: true });
    if (signal.aborted) controller.abort();
    const wanted = (item: FeedItem | undefined): item is FeedItem =>
      item !== undefined &&
      (callId === undefined || item.kind !== 'transition' || item.data.callId === callId);
    try {
      // where to read on from: the newest entry now, after the replay of what was missed
      const newest = await redis.xrevrange(key, '+', '-', 'COUNT', after ? replayMax : 1);
      let last = newest[0]?.[0] ?? '0-0';
      yield { kind: 'open' };
      if (after) {
        const missed = newest.filter(([id]) => afterId(id, after)).reverse();
        const oldest = newest.at(-1)?.[0];
        if (newest.length === replayMax && oldest !== undefined && afterId(oldest, after)) {
          yield { kind: 'truncated' };
        }
        for (const entry of missed) {
          const item = parseEntry(entry);
          if (wanted(item)) yield item;
        }
        if (newest.length === 0 || !afterId(last, after)) last = after;
      }
      while (!controller.signal.aborted) {
        const reply = await redis.xread(
          'COUNT',
          READ_COUNT,
          'BLOCK',
          heartbeatMs,
          'STREAMS',
          key,
          last,
        );
        if (controller.signal.aborted) break;
        const entries = reply?.[0]?.[1] ?? [];
        if (entries.length === 0) {
          yield { kind: 'heartbeat' };
          continue;
        }
        for (const entry of entries) {
          last = entry[0];
          const item = parseEntry(entry);
          if (wanted(item)) yield item;
        }
      }
    } catch (error) {
      // the connection was cut because the feed ended; anything else is the caller's to see
      if (!controller.signal.aborted) throw error;
    } finally {
      signal.removeEventListener('abort', abort);
      controllers.delete(controller);
      redis.disconnect();
      if (controllers.size === 0) allEnded?.();
    }
  }

  return {
    get open() {
      return controllers.size;
    },
    get closed() {
      return closed;
    },
    subscribe,
    async closeAll(waitMs = 1000) {
      closed = true;
      if (controllers.size === 0) return;
      const ended = new Promise<void>((resolve) => (allEnded = resolve));
      for (const controller of controllers) controller.abort();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([ended, new Promise((r) => (timer = setTimeout(r, waitMs)))]);
      clearTimeout(timer);
    },
  };
}
