/**
 * How a call's history entries are stored in its history list (`dictionaryCodec`): an entry is
 * 80–180 bytes of JSON, almost all of it key names, event and state names and outcome phrases
 * that every call repeats; deflated against a dictionary of typical entries it is ≈ 30 bytes of
 * base64 (the sequence number and the time are what is left). A value without the mark is JSON,
 * as builds before this one (and `PACK_SNAPSHOTS=false`) store it.
 */
import { dictionaryCodec } from './dictionary-codec.js';

/**
 * The first dictionary: entries as the machine's transitions write them (`historyEntry`, key
 * order seq, event, from, to, at, traceId, outcome; `to` left out when it equals `from`), the
 * rare ones first, those of an established call last (DEFLATE finds strings near the end of a
 * dictionary more cheaply). At most 4 KB: the window.
 */
const DICTIONARY_1 = Buffer.from(
  [
    'Graph answer failed: ',
    'Graph refused the answer with 403 (Forbidden): ',
    ' (after 1 attempt)',
    'Graph refused the rejection with 500 (Internal Server Error): ',
    'Graph accepted the rejection',
    'Graph refused recording status recording with 400 (Bad Request): ',
    'Graph refused the hang-up with 404 (Not Found): ',
    'Graph refused the keep-alive with 404 (Not Found): ',
    'recording fault: ',
    'media connection lost: ',
    '{"seq":1,"event":"TIMER.ANSWER_DEADLINE","from":"answering","to":"failed","at":1800000000000',
    '{"seq":1,"event":"CALL.HANGUP","from":"live.established.recordingFailed",',
    '"to":"live.ending.deciding"',
    '{"seq":1,"event":"CALL.INCOMING","from":"idle","to":"rejecting","at":1800000000000}',
    '{"seq":1,"event":"GRAPH.REJECT_ACCEPTED","from":"rejecting","to":"rejected"',
    '{"seq":1,"event":"CALL.TERMINATING","from":"live.established.recording",',
    '"to":"live.ending.stoppingMedia","at":1800000000000}',
    '{"seq":1,"event":"MEDIA.STOPPED","from":"live.ending.stoppingMedia",',
    '"to":"live.ending.reportingStopped","at":1800000000000,',
    '"outcome":"media process confirmed it stopped writing"}',
    '{"seq":1,"event":"TIMER.MEDIA_STOP","from":"live.ending.stoppingMedia",',
    '"to":"live.ending.reportingUnconfirmed"',
    '{"seq":1,"event":"GRAPH.RECORDING_STATUS_OK","from":"live.ending.reportingStopped",',
    '"to":"live.ending.hangingUp","at":1800000000000,',
    '"outcome":"Graph accepted recording status notRecording after 1 attempt"}',
    '{"seq":1,"event":"GRAPH.HANGUP_OK","from":"live.ending.hangingUp","to":"terminated",',
    '"at":1800000000000,"outcome":"Graph accepted the hang-up"}',
    '{"seq":1,"event":"CALL.TERMINATED","from":"live.established.recording","to":"terminated",',
    '"at":1800000000000}',
    '{"seq":1,"event":"MEDIA.ENDED","from":"live.established.recording","at":1800000000000,',
    '"outcome":"media stream ended"}',
    '{"seq":1,"event":"MEDIA.LOST","from":"live.established.recording","at":1800000000000,',
    '"outcome":"media connection lost: ',
    '{"seq":1,"event":"MEDIA.FAULT","from":"live.established.recording",',
    '"to":"live.established.recordingFailed","at":1800000000000,"outcome":"recording fault: ',
    '{"seq":1,"event":"TIMER.MEDIA_ARRIVAL","from":"live.established.awaitingMedia",',
    '"to":"live.established.recordingFailed"',
    '{"seq":1,"event":"GRAPH.RECORDING_STATUS_FAILED","from":"live.established.startingRecording",',
    '"to":"live.established.recordingFailed"',
    '{"seq":1,"event":"CALL.INCOMING","from":"idle","to":"answering","at":1800000000000}',
    '{"seq":2,"event":"GRAPH.ANSWER_ACCEPTED","from":"answering","to":"live.answered",',
    '"at":1800000000000,"outcome":"Graph accepted the answer after 1 attempt"}',
    '{"seq":3,"event":"CALL.ESTABLISHING","from":"live.answered","to":"live.establishing",',
    '"at":1800000000000}',
    '{"seq":4,"event":"CALL.ESTABLISHED","from":"live.establishing",',
    '"to":"live.established.awaitingMedia","at":1800000000000}',
    '{"seq":5,"event":"MEDIA.CONNECTED","from":"live.established.awaitingMedia",',
    '"at":1800000000000,"outcome":"media peer connected"}',
    '{"seq":6,"event":"MEDIA.FLOWING","from":"live.established.awaitingMedia",',
    '"to":"live.established.startingRecording","at":1800000000000,"outcome":"media flowing"}',
    '{"seq":7,"event":"GRAPH.RECORDING_STATUS_OK","from":"live.established.startingRecording",',
    '"to":"live.established.recording","at":1800000000000,',
    '"outcome":"Graph accepted recording status recording after 1 attempt"}',
    '{"seq":8,"event":"CALL.ROSTER","from":"live.established.awaitingMedia","at":1800000000000}',
    '{"seq":9,"event":"CALL.ROSTER","from":"live.established.recording","at":1800000000000,',
    '"traceId":"',
    '{"seq":10,"event":"TIMER.KEEPALIVE_DUE","from":"live.established.awaitingMedia",',
    '"at":1800000000000}',
    '{"seq":11,"event":"GRAPH.KEEPALIVE_OK","from":"live.established.awaitingMedia",',
    '"at":1800000000000,"outcome":"Graph accepted the keep-alive"}',
    '{"seq":12,"event":"TIMER.KEEPALIVE_DUE","from":"live.established.recording",',
    '"at":1800000000000}',
    '{"seq":13,"event":"GRAPH.KEEPALIVE_OK","from":"live.established.recording",',
    '"at":1800000000000,"outcome":"Graph accepted the keep-alive"}',
  ].join(''),
);

/** An entry's outcome carries at most a 160-character reason: 64 KB is far above any entry. */
const MAX_ENTRY_BYTES = 64 * 1024;

/** A 4 KB window holds the dictionary; an entry is far shorter than the window. */
const CODEC_1 = dictionaryCodec({
  mark: 'h1:',
  dictionary: DICTIONARY_1,
  windowBits: 12,
  maxBytes: MAX_ENTRY_BYTES,
});

/** The stored form of a history entry's JSON: deflated against the dictionary, marked. */
export const compressHistoryEntry = (json: string): string => CODEC_1.compress(json);

/** The JSON of a stored history entry: inflated when it carries the mark, else as it is. */
export const historyEntryJson = (stored: string): string => CODEC_1.json(stored);
