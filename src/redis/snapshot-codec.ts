/**
 * How a call's snapshot JSON is stored in its hash's `snap` field (`dictionaryCodec`): a snapshot
 * is small (2–3 KB for a call with a few participants) and most of it is the same keys and values
 * in every call; deflated against a dictionary that holds them it is ≈ 0.5 KB of base64. A value
 * without the mark is JSON, as builds before this one (and `PACK_SNAPSHOTS=false`) store it.
 */
import { dictionaryCodec } from './dictionary-codec.js';

/**
 * The first dictionary: the skeleton of an established, recording call's persisted snapshot with
 * typical values, in the machine's key order (DEFLATE finds strings near the end of a
 * dictionary more cheaply, so the context, which every snapshot has most of, comes last).
 */
const DICTIONARY_1 = Buffer.from(
  [
    '"failure":{"reason":"answer-deadline-missed","detail":"',
    '"resultInfo":{"code":200,"subcode":5002,"message":"',
    '"endedBy":"remote","endedAt":1800000000000,"rejectedAt":1800000000000,',
    '"verdict":{"action":"reject","reason":"',
    '"status":"done","value":"terminated",',
    '"reports":[{"status":"notRecording","at":1800000000000,"ok":false,"detail":"',
    '"stop":{"gen":1,"at":1800000000000,"confirmedAt":1800000000000},',
    '"lastError":"8522","goneAt":1800000000000,',
    '"lost":1800000000000,"lastFault":"',
    '"leftAt":1800000000000},',
    '{"kind":"guest","id":"","tenantId":""},{"kind":"phone","id":"+1',
    '{"kind":"application","id":""},',
    '"meeting",',
    '{"status":"active","value":{"live":{"established":"recording"}},"historyValue":{},',
    '"context":{"seq":1,"timers":{"keepAlive":1,"mediaArrival":1,"mediaStop":1},',
    '"recording":{"persist":true,"confirmedAt":1800000000000,',
    '"reports":[{"status":"recording","at":1800000000000,"ok":true}]},',
    '"keepAlive":{"sent":1,"lastOkAt":1800000000000},',
    '"media":{"connected":true,"flowing":true},',
    '"roster":{"participants":{"00000000-0000-0000-0000-000000000000":',
    '{"id":"00000000-0000-0000-0000-000000000000","kind":"user","identities":',
    '[{"kind":"user","id":"00000000-0000-0000-0000-000000000000",',
    '"tenantId":"00000000-0000-0000-0000-000000000000"}],',
    '"muted":false,"serverMuted":false,"inLobby":false,"sources":{"audio":"1","video":"2"},',
    '"seq":1},"00000000-0000-0000-0000-000000000000":',
    '{"id":"00000000-0000-0000-0000-000000000000","kind":"applicationInstance","identities":',
    '[{"kind":"applicationInstance","id":"00000000-0000-0000-0000-000000000000",',
    '"tenantId":"00000000-0000-0000-0000-000000000000"}],',
    '"muted":false,"serverMuted":false,"inLobby":false,"sources":{"audio":"3"},"seq":1}},',
    '"seq":1,"left":{},"history":[{"id":"00000000-0000-0000-0000-000000000000",',
    '"sources":["1","2"],"joinedAt":1800000000000},',
    '{"id":"00000000-0000-0000-0000-000000000000","sources":["3"],"joinedAt":1800000000000}],',
    '"dropped":0},"trail":[["incoming",1800000000000],["answering",1800000000000],',
    '["answered",1800000000000],["establishing",1800000000000],',
    '["established",1800000000000],["recording",1800000000000]],',
    '"invite":{"callId":"00000000-0000-0000-0000-000000000000",',
    '"tenantId":"00000000-0000-0000-0000-000000000000","kind":"p2p",',
    '"callChainId":"00000000-0000-0000-0000-000000000000",',
    '"recordedUserId":"00000000-0000-0000-0000-000000000000",',
    '"sourceParticipantId":"00000000-0000-0000-0000-000000000000",',
    '"myParticipantId":"00000000-0000-0000-0000-000000000000"},',
    '"settings":{"keepAliveIntervalMs":900000,"mediaArrivalTimeoutMs":30000,',
    '"mediaStopTimeoutMs":3000,"effectBudgetMs":60000,"rosterMaxParticipants":1000},',
    '"receivedAt":1800000000000,"deadlineAt":1800000000000,"verdict":{"action":"answer"},',
    '"answeredAt":1800000000000,"answerAttempts":1,"establishedAt":1800000000000},',
    '"children":{}}',
  ].join(''),
);

/** A stored snapshot inflates to at most this: far above any roster cap, below harm. */
const MAX_SNAPSHOT_BYTES = 32 * 1024 * 1024;

/** An 8 KB window holds the dictionary and a snapshot's first kilobytes. */
const CODEC_1 = dictionaryCodec({
  mark: 'z1:',
  dictionary: DICTIONARY_1,
  windowBits: 13,
  maxBytes: MAX_SNAPSHOT_BYTES,
});

/** The `snap` value of a snapshot's JSON: deflated against the dictionary, marked. */
export const compressSnapshot = (json: string): string => CODEC_1.compress(json);

/**
 * The JSON of a stored `snap` value: inflated when it carries the mark, else as it is. A marked
 * value that does not inflate (damaged, or larger than any snapshot can be) throws, as a JSON
 * value that does not parse does.
 */
export const snapshotJson = (stored: string): string => CODEC_1.json(stored);
