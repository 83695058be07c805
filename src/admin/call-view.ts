/**
 * The operator's view of one call, read from Redis: its summary (the `sum` field the commit
 * wrote, or the compact record once the call's state expired) and its detail — participants
 * over time, who owned each source id (the speaker tracks: the same roster facts the media
 * process writes into the recording's manifest, docs/media-protocol.md), the recording status
 * reports, the media session, the history and the trace. Read only: nothing here writes a call.
 */
import type { CallContext, ParticipantStint } from '../../machines/call.js';
import type { CallRecord } from '../calls/call-record.js';
import {
  callSummary,
  failureOf,
  type CallFailure,
  type CallSummaryFields,
} from '../calls/call-summary.js';
import type { HistoryEntry } from '../calls/history.js';
import { parseSnapshot, type SnapshotStore } from '../calls/snapshot-store.js';
import type { RedisClient } from '../redis/client.js';
import { callKeys } from '../redis/keys.js';

export interface CallSummary {
  callId: string;
  tenantId: string;
  kind: 'p2p' | 'meeting';
  /** Dotted state path, e.g. `live.established.recording` (ids in the machine are `call.<path>`). */
  state: string;
  live: boolean;
  recordedUserId?: string;
  receivedAt: number;
  answeredAt?: number;
  endedAt?: number;
  updatedAt: number;
  failed: boolean;
  failure?: CallFailure;
  version: number;
}

export interface ParticipantView {
  id: string;
  kind: 'user' | 'guest' | 'application' | 'phone';
  /** The kind the roster named (`applicationInstance`, `other`, …). */
  displayKind?: string;
  joinedAt: number;
  leftAt?: number;
  sourceIds: string[];
  muted?: boolean;
}

export interface TrackView {
  sourceId: string;
  owners: Array<{ participantId: string; from: number; to?: number }>;
}

export interface CallDetail extends CallSummary {
  participants: ParticipantView[];
  tracks: TrackView[];
  recordingReports: Array<{ status: string; at: number; ok?: boolean; httpStatus?: number }>;
  media?: { sessionId: string; state: string; owner?: string };
  history: HistoryEntry[];
  /** History entries shed by the per-call cap. */
  historyDropped: number;
  traceId?: string;
  traceUrl?: string;
}

export interface CallReader {
  summary(callId: string): Promise<CallSummary | undefined>;
  detail(callId: string): Promise<CallDetail | undefined>;
}

export interface CallReaderDeps {
  redis: RedisClient;
  prefix: string;
  store: Pick<SnapshotStore, 'loadRecord' | 'loadHistory'>;
  /** Base URL of a Jaeger UI (`JAEGER_UI_URL`). */
  jaegerUiUrl?: string | undefined;
}

const parse = <T>(
  json: string | null | undefined,
  read: (json: string) => unknown = JSON.parse,
): T | undefined => {
  if (!json) return undefined;
  try {
    return read(json) as T;
  } catch {
    return undefined;
  }
};

/** A call hash's `snap`, its roster as the machine persisted it, or undefined when unreadable. */
const parseSnap = (json: string | null | undefined) =>
  parse<{ context?: CallContext }>(json, parseSnapshot);

function summaryOf(
  callId: string,
  fields: CallSummaryFields,
  state: string,
  live: boolean,
  version: number,
): CallSummary {
  return {
    callId,
    tenantId: fields.tenantId,
    kind: fields.kind,
    state,
    live,
    ...(fields.recordedUserId ? { recordedUserId: fields.recordedUserId } : {}),
    receivedAt: fields.receivedAt ?? fields.updatedAt,
    ...(fields.answeredAt !== undefined ? { answeredAt: fields.answeredAt } : {}),
    ...(fields.endedAt !== undefined ? { endedAt: fields.endedAt } : {}),
    updatedAt: fields.updatedAt,
    failed: fields.failure !== undefined,
    ...(fields.failure ? { failure: fields.failure } : {}),
    version,
  };
}

/** A record written before records carried a summary: the same facts, from the record. */
function recordFields(record: CallRecord): CallSummaryFields {
  if (record.summary) return record.summary;
  const failure = failureOf({
    state: record.state,
    failure: record.failure,
    resultInfo: record.resultInfo,
    verdict: record.verdict,
    recordingReports: record.recordingReports,
  });
  return {
    tenantId: record.tenantId,
    kind: record.kind,
    ...(record.recordedUserId ? { recordedUserId: record.recordedUserId } : {}),
    ...(record.receivedAt !== undefined ? { receivedAt: record.receivedAt } : {}),
    ...(record.answeredAt !== undefined ? { answeredAt: record.answeredAt } : {}),
    ...(record.endedAt !== undefined ? { endedAt: record.endedAt } : {}),
    updatedAt: record.endedAt ?? record.receivedAt ?? 0,
    ...(failure ? { failure } : {}),
  };
}

const KINDS = new Set(['user', 'guest', 'application', 'phone']);
function participantKind(kind: string): ParticipantView['kind'] {
  if (KINDS.has(kind)) return kind as ParticipantView['kind'];
  return kind === 'applicationInstance' ? 'application' : 'guest';
}

function participantsOf(
  stints: ParticipantStint[],
  current: CallContext['roster']['participants'] | undefined,
): ParticipantView[] {
  return stints.map((s) => {
    const now = s.leftAt === undefined ? current?.[s.id] : undefined;
    return {
      id: s.id,
      kind: participantKind(s.kind),
      displayKind: s.kind,
      joinedAt: s.joinedAt,
      ...(s.leftAt !== undefined ? { leftAt: s.leftAt } : {}),
      sourceIds: s.sources,
      ...(now ? { muted: now.muted || now.serverMuted } : {}),
    };
  });
}

/** Who owned each source id over time: one owner interval per presence that sent it. */
export function tracksOf(stints: ParticipantStint[]): TrackView[] {
  const bySource = new Map<string, TrackView['owners']>();
  for (const s of stints) {
    for (const sourceId of s.sources) {
      const owners = bySource.get(sourceId) ?? [];
      owners.push({
        participantId: s.id,
        from: s.joinedAt,
        ...(s.leftAt !== undefined ? { to: s.leftAt } : {}),
      });
      bySource.set(sourceId, owners);
    }
  }
  return [...bySource.entries()]
    .map(([sourceId, owners]) => ({ sourceId, owners: owners.sort((a, b) => a.from - b.from) }))
    .sort((a, b) => a.sourceId.localeCompare(b.sourceId, 'en', { numeric: true }));
}

/** `Graph answered 403 …` in a report's detail → 403. */
const httpStatusOf = (detail: string | undefined): number | undefined => {
  const match = /answered (\d{3})/.exec(detail ?? '');
  return match ? Number(match[1]) : undefined;
};

function reportsOf(reports: CallContext['recording']['reports']): CallDetail['recordingReports'] {
  return reports.map((r) => {
    const httpStatus = httpStatusOf(r.detail);
    return {
      status: r.status,
      at: r.at,
      ok: r.ok,
      ...(httpStatus !== undefined ? { httpStatus } : {}),
    };
  });
}

/** The trace id of a W3C `traceparent` (`00-<trace id>-<span id>-<flags>`). */
const traceIdOfCarrier = (carrier: { traceparent?: string } | undefined): string | undefined =>
  /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/.exec(carrier?.traceparent ?? '')?.[1];

export function createCallReader(deps: CallReaderDeps): CallReader {
  const keys = (callId: string) => callKeys(deps.prefix, callId);
  const traceLink = (traceId: string | undefined) =>
    traceId
      ? {
          traceId,
          ...(deps.jaegerUiUrl ? { traceUrl: `${deps.jaegerUiUrl}/trace/${traceId}` } : {}),
        }
      : {};

  async function live(callId: string) {
    const [v, state, status, sum] = await deps.redis.hmget(
      keys(callId).call,
      'v',
      'state',
      'status',
      'sum',
    );
    if (v == null || state == null) return undefined;
    return {
      version: Number(v),
      state,
      live: status !== 'done',
      sum: parse<CallSummaryFields>(sum),
    };
  }

  async function summary(callId: string): Promise<CallSummary | undefined> {
    const call = await live(callId);
    if (call) {
      let fields = call.sum;
      if (!fields) {
        // a call committed before summaries existed: derive it from its snapshot once
        const snap = parseSnap(await deps.redis.hget(keys(callId).call, 'snap'));
        fields = snap?.context ? callSummary(snap.context, call.state, 0) : undefined;
      }
      return fields ? summaryOf(callId, fields, call.state, call.live, call.version) : undefined;
    }
    const record = (await deps.store.loadRecord(callId)) as CallRecord | undefined;
    if (!record) return undefined;
    return summaryOf(callId, recordFields(record), record.state, false, record.version);
  }

  async function detail(callId: string): Promise<CallDetail | undefined> {
    const k = keys(callId);
    const [hash, media, history] = await Promise.all([
      deps.redis.hmget(k.call, 'v', 'state', 'status', 'snap', 'trace'),
      deps.redis.hmget(k.media, 'sessionId', 'state', 'owner'),
      deps.store.loadHistory(callId),
    ]);
    const [v, state, status, snap, trace] = hash;
    const [sessionId, mediaState, owner] = media;
    const mediaView =
      sessionId && mediaState
        ? { media: { sessionId, state: mediaState, ...(owner ? { owner } : {}) } }
        : {};
    const context = parseSnap(snap)?.context;
    if (v != null && state != null && context?.invite) {
      const fields = callSummary(context, state, history.entries.at(-1)?.at ?? 0)!;
      const firstTrace =
        traceIdOfCarrier(parse(trace)) ?? history.entries.find((e) => e.traceId)?.traceId;
      return {
        ...summaryOf(callId, fields, state, status !== 'done', Number(v)),
        participants: participantsOf(context.roster.history, context.roster.participants),
        tracks: tracksOf(context.roster.history),
        recordingReports: reportsOf(context.recording.reports),
        ...mediaView,
        history: history.entries,
        historyDropped: history.dropped,
        ...traceLink(firstTrace),
      };
    }
    const record = (await deps.store.loadRecord(callId)) as CallRecord | undefined;
    if (!record) return undefined;
    const entries = record.history ?? history.entries;
    return {
      ...summaryOf(callId, recordFields(record), record.state, false, record.version),
      participants: participantsOf(record.participants, undefined),
      tracks: tracksOf(record.participants),
      recordingReports: reportsOf(record.recordingReports),
      ...mediaView,
      history: entries,
      historyDropped: record.historyDropped ?? 0,
      ...traceLink(entries.find((e) => e.traceId)?.traceId),
    };
  }

  return { summary, detail };
}
