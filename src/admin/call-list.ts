/**
 * The operator's list of live and recent calls, newest first, filtered and paged with a cursor.
 * It pages through the recent-calls index (`recentCallsKey`: callId → time the invite arrived,
 * written beside the live-calls index by the crash-safe outbox path) and reads each call's
 * summary. Every request is bounded: at most `SCAN_MAX` index entries are looked at, and a
 * filter that matches little returns a short page with a cursor to go on from.
 */
import type { RedisClient } from '../redis/client.js';
import { recentCallsKey } from '../redis/keys.js';
import type { CallReader, CallSummary } from './call-view.js';

export interface CallFilter {
  /** A state name or any whole segment of it (`established` matches `live.established.recording`). */
  state?: string;
  tenant?: string;
  /** The recorded user's id. */
  user?: string;
  failed?: boolean;
  /** Invites arrived at or after this time (ms). */
  from?: number;
  /** Invites arrived at or before this time (ms). */
  to?: number;
}

export interface CallPage {
  calls: CallSummary[];
  nextCursor?: string;
}

export const LIST_LIMIT_DEFAULT = 50;
export const LIST_LIMIT_MAX = 200;
/** Index entries looked at per request, whatever the filter. */
const SCAN_MAX = 2000;
const BATCH = 100;

/** Where a page ends: the score of the last entry read, and how many entries with it were read. */
interface Position {
  max: number | '+inf';
  skip: number;
}

export class CursorError extends Error {
  override name = 'CursorError';
}

export function encodeCursor(p: Position): string {
  return Buffer.from(`${p.max}:${p.skip}`).toString('base64url');
}

export function decodeCursor(cursor: string): Position {
  const match =
    cursor.length <= 64
      ? /^(\d{1,16}|\+inf):(\d{1,6})$/.exec(Buffer.from(cursor, 'base64url').toString())
      : null;
  if (!match) throw new CursorError('not a cursor this server gave');
  return { max: match[1] === '+inf' ? '+inf' : Number(match[1]), skip: Number(match[2]) };
}

const inState = (name: string, state: string): boolean => `.${name}.`.includes(`.${state}.`);

export function matches(call: CallSummary, filter: CallFilter): boolean {
  if (filter.state !== undefined && !inState(call.state, filter.state)) return false;
  if (filter.tenant !== undefined && call.tenantId !== filter.tenant) return false;
  if (filter.user !== undefined && call.recordedUserId !== filter.user) return false;
  if (filter.failed !== undefined && call.failed !== filter.failed) return false;
  return true;
}

export async function listCalls(
  redis: RedisClient,
  prefix: string,
  reader: Pick<CallReader, 'summary'>,
  filter: CallFilter,
  options: { cursor?: string | undefined; limit?: number | undefined } = {},
): Promise<CallPage> {
  const index = recentCallsKey(prefix);
  const limit = Math.min(options.limit ?? LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX);
  let pos: Position = options.cursor
    ? decodeCursor(options.cursor)
    : { max: filter.to ?? '+inf', skip: 0 };
  if (filter.to !== undefined && pos.max !== '+inf' && pos.max > filter.to) {
    pos = { max: filter.to, skip: 0 };
  }
  const min = filter.from ?? '-inf';
  const calls: CallSummary[] = [];
  let scanned = 0;
  let exhausted = false;
  while (calls.length < limit && scanned < SCAN_MAX) {
    const count = Math.min(BATCH, SCAN_MAX - scanned);
    const flat = await redis.zrevrangebyscore(
      index,
      pos.max,
      min,
      'WITHSCORES',
      'LIMIT',
      pos.skip,
      count,
    );
    const entries: Array<[string, number]> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) entries.push([flat[i]!, Number(flat[i + 1])]);
    const summaries = await Promise.all(entries.map(([id]) => reader.summary(id)));
    let read = 0;
    for (const [i, [callId, score]] of entries.entries()) {
      if (calls.length >= limit) break;
      read += 1;
      scanned += 1;
      pos = score === pos.max ? { max: score, skip: pos.skip + 1 } : { max: score, skip: 1 };
      const summary = summaries[i];
      if (!summary) {
        // neither the call nor its record is kept any more: the index forgets it
        await redis.zrem(index, callId);
        pos = { ...pos, skip: pos.skip - 1 };
        continue;
      }
      if (matches(summary, filter)) calls.push(summary);
    }
    if (entries.length < count && read === entries.length) {
      exhausted = true;
      break;
    }
  }
  return exhausted ? { calls } : { calls, nextCursor: encodeCursor(pos) };
}
