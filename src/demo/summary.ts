/** Reads each demo call's committed record from Redis and prints it for a person. */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Redis } from 'ioredis';
import { describeSpeakers, verifyRecording } from '../media/recording/index.js';
import { callKeys } from '../redis/keys.js';
import { parseSnapshot } from '../calls/snapshot-store.js';
import type { SimCall } from '@cr-orchestrator/teams-simulator';

export interface CallRecord {
  state: string;
  version: number;
  trail: Array<[string, number]>;
  receivedAt?: number;
  answeredAt?: number;
  resultInfo?: { code: number; subcode: number };
  verdict?: { action: string; reason?: string; rule?: string };
}

export interface DemoRow {
  label: string;
  call: SimCall;
  record: CallRecord | undefined;
  expected: string;
  recording: string | undefined;
}

/**
 * About a call's recording: its verified tracks, then who is on each unmixed track and when
 * (from the manifest's speaker attribution); undefined when there is none.
 */
export async function describeRecording(dir: string): Promise<string | undefined> {
  if (!existsSync(dir)) return undefined;
  const result = await verifyRecording(dir).catch(() => undefined);
  if (!result) return undefined;
  const tracks = await readdir(join(dir, 'final')).catch(() => [] as string[]);
  const wavs = tracks.filter((f) => f.endsWith('.wav'));
  const state = result.ok ? 'verified' : `NOT verified: ${result.problems.join('; ')}`;
  const speakers = result.speakers.flatMap(describeSpeakers).map((line) => `\n      ${line}`);
  return `${result.segments} segments ${state}; ${wavs.length} WAV tracks in ${relative(process.cwd(), dir)}/final (${wavs.join(', ')})${speakers.join('')}`;
}

export async function readCallRecord(
  redis: Redis,
  prefix: string,
  callId: string,
): Promise<CallRecord | undefined> {
  const [v, snap, state] = await redis.hmget(callKeys(prefix, callId).call, 'v', 'snap', 'state');
  if (!snap || !state) return undefined;
  const { context } = parseSnapshot(snap) as { context: Omit<CallRecord, 'state' | 'version'> };
  return { ...context, state, version: Number(v) };
}

export function printSummary(rows: DemoRow[]): boolean {
  let allOk = true;
  for (const row of rows) {
    const { label, call, record, expected } = row;
    const ok = record?.state === expected;
    allOk &&= ok;
    const start = record?.receivedAt ?? call.invitedAt;
    const path =
      record?.trail.map(([s, at]) => `${s} +${at - start}ms`).join(' → ') ?? '(no record)';
    const latency = call.answer
      ? `answered in ${call.answer.at - call.invitedAt} ms after ${call.answerAttempts} attempt(s)`
      : call.reject
        ? `rejected (${call.reject.reason}) in ${call.reject.at - call.invitedAt} ms`
        : 'no answer';
    const end = call.result ? `ended ${call.result.code}/${call.result.subcode}` : '';
    const reports = call.recordingStatusUpdates
      .map((u) => `${u.status} +${u.at - call.invitedAt}ms${u.accepted ? '' : ' (refused)'}`)
      .join(', ');
    console.log(`${ok ? '✔' : '✘'} ${label}  [${call.id.slice(0, 8)}]`);
    console.log(`    ${path}`);
    console.log(`    ${latency}; ${record?.version ?? 0} commits; ${end}`);
    if (reports) console.log(`    recording status reported to Teams: ${reports}`);
    console.log(`    recording: ${row.recording ?? 'none (nothing was persisted)'}`);
    console.log('');
  }
  console.log(allOk ? 'all calls ended as expected' : 'some calls did not end as expected');
  return allOk;
}
