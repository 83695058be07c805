/**
 * `updateRecordingStatus` (docs/teams-protocol.md#recording-status): the body schema the fake Graph
 * validates, and a per-call ledger of every request so tests can assert "nothing was persisted
 * before a 200 for
 * `recording`". The ledger also feeds `participant.recordingInfo.recordingStatus`
 * (docs/teams-protocol.md#roster).
 */
import { z } from 'zod';
import type { Clock } from './clock.js';
import type { RecordingStatusUpdate, SimRecordingStatus } from './types.js';

const STATUSES = ['notRecording', 'recording', 'failed'] as const;
type Reported = (typeof STATUSES)[number];

/** Graph enum values in any casing, as Graph accepts them. */
export function canonicalStatus(status: string): Reported | undefined {
  return STATUSES.find((s) => s.toLowerCase() === status.toLowerCase());
}

export const RecordingStatusBody = z.looseObject({
  // Documented as a unique string of at most 256 characters.
  clientContext: z.string().min(1).max(256),
  status: z
    .string()
    .refine((v) => canonicalStatus(v) !== undefined, `must be one of ${STATUSES.join(', ')}`),
});

/** What a request asked for, read leniently: invalid bodies are recorded too. */
function readRequest(text: string): { status: string; clientContext?: string } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { status: '' };
  }
  const { status, clientContext } = (body ?? {}) as { status?: unknown; clientContext?: unknown };
  const shown =
    typeof status === 'string'
      ? (canonicalStatus(status) ?? status)
      : status === undefined
        ? ''
        : (JSON.stringify(status) ?? '');
  return { status: shown, ...(typeof clientContext === 'string' && { clientContext }) };
}

export class RecordingLedger {
  readonly updates: RecordingStatusUpdate[] = [];
  /** ms epoch of the first accepted 'recording'. */
  confirmedAt: number | undefined;
  /** The last accepted status; 'unknown' before any. */
  current: SimRecordingStatus = 'unknown';

  constructor(private readonly clock: Clock) {}

  /** Record one request with the HTTP status it was answered with. */
  note(text: string, httpStatus: number): void {
    const at = this.clock.now();
    const request = readRequest(text);
    const accepted = httpStatus === 200;
    this.updates.push({ at, ...request, accepted, httpStatus });
    const status = canonicalStatus(request.status);
    if (!accepted || status === undefined) return;
    this.current = status;
    if (status === 'recording') this.confirmedAt ??= at;
  }
}
