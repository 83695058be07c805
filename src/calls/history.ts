/**
 * A call's history: one entry per committed transition, appended by the commit script itself
 * (src/redis/lua/commit.lua), so a transition and its entry exist together or not at all. The
 * entry's `seq` is the version the commit creates (1, 2, …): entries are contiguous, so the
 * number shed by the cap is the oldest kept entry's `seq - 1` without a counter of its own.
 * Outcomes are said in words for Graph and media events; no identities, no tokens.
 */
import type { CallEvent } from '../../machines/call.js';
import { compressHistoryEntry, historyEntryJson } from '../redis/history-codec.js';

export interface HistoryEntry {
  /** The version the transition committed (1 for the first). */
  seq: number;
  event: string;
  /** Dotted state names (`live.established.recording`). */
  from: string;
  to: string;
  /** The event's time (ms). */
  at: number;
  /** Trace id of the span that committed the transition, when tracing is on. */
  traceId?: string;
  /** What a Graph or media event said, in words. */
  outcome?: string;
}

/** Entries kept per call by default; older ones are shed and counted. */
export const HISTORY_MAX_DEFAULT = 200;
/** Longest reason text carried from outside into an outcome. */
const REASON_MAX = 160;

/** The entry a transition appends. */
export function historyEntry(
  seq: number,
  event: CallEvent,
  from: string,
  to: string,
  traceId: string | undefined,
): HistoryEntry {
  const outcome = outcomeOf(event);
  return {
    seq,
    event: event.type,
    from,
    to,
    at: event.at,
    ...(traceId ? { traceId } : {}),
    ...(outcome ? { outcome } : {}),
  };
}

/** `count (text)` of an HTTP status, e.g. `403 (Forbidden)`. */
export function httpStatusInWords(status: number | undefined): string | undefined {
  if (status === undefined) return undefined;
  const text = HTTP_TEXT[status];
  return text ? `${status} (${text})` : String(status);
}

const HTTP_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** Bounded, single-line text of a reason that came from outside. */
export function boundedReason(reason: string): string {
  const line = reason.replace(/\s+/g, ' ').trim();
  return line.length > REASON_MAX ? `${line.slice(0, REASON_MAX - 1)}…` : line;
}

const attempts = (n: number) => (n === 1 ? 'after 1 attempt' : `after ${n} attempts`);

function refused(what: string, event: { httpStatus?: number; reason: string }): string {
  const status = httpStatusInWords(event.httpStatus);
  return status
    ? `Graph refused ${what} with ${status}: ${boundedReason(event.reason)}`
    : `Graph ${what} failed: ${boundedReason(event.reason)}`;
}

/** The outcome of a Graph or media event in words; undefined for other events. */
export function outcomeOf(event: CallEvent): string | undefined {
  switch (event.type) {
    case 'GRAPH.ANSWER_ACCEPTED':
      return `Graph accepted the answer ${attempts(event.attempts)}`;
    case 'GRAPH.ANSWER_FAILED':
      return `${refused('the answer', event)} (${attempts(event.attempts)})`;
    case 'GRAPH.REJECT_ACCEPTED':
      return 'Graph accepted the rejection';
    case 'GRAPH.REJECT_FAILED':
      return refused('the rejection', event);
    case 'GRAPH.RECORDING_STATUS_OK':
      return `Graph accepted recording status ${event.recordingStatus} ${attempts(event.attempts)}`;
    case 'GRAPH.RECORDING_STATUS_FAILED':
      return refused(`recording status ${event.recordingStatus}`, event);
    case 'GRAPH.KEEPALIVE_OK':
      return 'Graph accepted the keep-alive';
    case 'GRAPH.KEEPALIVE_FAILED':
      return refused('the keep-alive', event);
    case 'GRAPH.HANGUP_OK':
      return 'Graph accepted the hang-up';
    case 'GRAPH.HANGUP_FAILED':
      return refused('the hang-up', event);
    case 'MEDIA.CONNECTED':
      return 'media peer connected';
    case 'MEDIA.FLOWING':
      return 'media flowing';
    case 'MEDIA.LOST':
      return `media connection lost: ${boundedReason(event.reason)}`;
    case 'MEDIA.FAULT':
      return `recording fault: ${boundedReason(event.reason)}`;
    case 'MEDIA.ENDED':
      return 'media stream ended';
    case 'MEDIA.STOPPED':
      return 'media process confirmed it stopped writing';
    default:
      return undefined;
  }
}

/**
 * Parse stored entries, deflated (`storedHistoryEntry`) or JSON, skipping any that are neither
 * (never throws on stored data).
 */
export function parseHistory(raw: string[]): HistoryEntry[] {
  return raw.flatMap((stored) => {
    try {
      const entry = JSON.parse(historyEntryJson(stored)) as HistoryEntry;
      // stored without `to` when the transition stayed in its state (`storedHistoryEntry`)
      if (entry === null || typeof entry !== 'object' || entry.to !== undefined) return [entry];
      const { seq, event, from, to: _absent, ...rest } = entry;
      return [{ seq, event, from, to: from, ...rest }];
    } catch {
      return [];
    }
  });
}

/**
 * An entry as the call's history list keeps it when packing: without `to` when it equals `from`,
 * as for most of a held call's entries (a keep-alive's timer and its result), and deflated
 * against a dictionary of typical entries (≈ 30 bytes instead of 80–180);
 * `parseHistory` puts it back.
 */
export function storedHistoryEntry(entry: HistoryEntry): string {
  if (entry.to !== entry.from) return compressHistoryEntry(JSON.stringify(entry));
  const { to: _same, ...rest } = entry;
  return compressHistoryEntry(JSON.stringify(rest));
}

/** Entries shed by the cap: the oldest kept entry's seq tells how many came before it. */
export function historyDropped(entries: HistoryEntry[]): number {
  const first = entries[0];
  return first ? Math.max(0, first.seq - 1) : 0;
}
