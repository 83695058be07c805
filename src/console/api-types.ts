/**
 * The operator API's shapes as the console reads them (see docs/console.md and the
 * OpenAPI description at `/admin/api/openapi.json`). Times are epoch milliseconds.
 */

export type FailureKind =
  | 'deadline-missed'
  | 'graph-refused'
  | 'media-lost'
  | 'keepalive-expired'
  | 'rejected-by-policy'
  | 'platform-ended'
  | 'other';

export interface Failure {
  kind: FailureKind;
  /** One sentence in words, e.g. "Graph refused answer with 403 (Forbidden)". */
  text: string;
  code?: string;
}

export interface CallSummary {
  callId: string;
  tenantId: string;
  kind: 'p2p' | 'meeting';
  /** Dotted state path below the machine's root, e.g. `live.established.recording`. */
  state: string;
  live: boolean;
  recordedUserId?: string;
  receivedAt: number;
  answeredAt?: number;
  endedAt?: number;
  updatedAt: number;
  failed: boolean;
  failure?: Failure;
  version: number;
}

export interface Participant {
  id: string;
  kind: string;
  displayKind?: string;
  joinedAt: number;
  leftAt?: number;
  sourceIds: string[];
  muted?: boolean;
}

export interface Track {
  sourceId: string;
  owners: Array<{ participantId: string; from: number; to?: number }>;
}

export interface HistoryEntry {
  seq: number;
  event: string;
  from: string;
  to: string;
  at: number;
  traceId?: string;
  outcome?: string;
}

export interface CallDetail extends CallSummary {
  participants: Participant[];
  tracks: Track[];
  recordingReports: Array<{ status: string; at: number; ok?: boolean; httpStatus?: number }>;
  media?: { sessionId: string; state: string; owner?: string; bytes?: number; segments?: number };
  history: HistoryEntry[];
  traceId?: string;
  traceUrl?: string;
}

export interface CallPage {
  calls: CallSummary[];
  nextCursor?: string;
}

export interface MachineInfo {
  id: string;
  version: number;
  definition: unknown;
}

export interface ConsoleConfig {
  jaegerUiUrl?: string;
  machineVersion: number;
}

/** One `transition` message of `/admin/api/events`. */
export interface TransitionEvent extends HistoryEntry {
  callId: string;
  tenantId: string;
  live: boolean;
}
