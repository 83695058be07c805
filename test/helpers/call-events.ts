/** Builders for call events in tests. */
import type { CallEvent, CallSettings, Participant, Verdict } from '../../machines/call.js';

export const SETTINGS: CallSettings = {
  keepAliveIntervalMs: 15 * 60_000,
  mediaArrivalTimeoutMs: 30_000,
  effectBudgetMs: 60_000,
  mediaStopTimeoutMs: 3000,
};

export function incoming(
  callId: string,
  at: number,
  verdict: Verdict = { action: 'answer' },
  settings: CallSettings = SETTINGS,
): Extract<CallEvent, { type: 'CALL.INCOMING' }> {
  return {
    type: 'CALL.INCOMING',
    at,
    deadlineAt: at + 5000,
    invite: { callId, tenantId: 't1', kind: 'p2p' },
    verdict,
    settings,
  };
}

export function participant(
  id: string,
  seq: number,
  extra: Partial<Participant> = {},
): Participant {
  return {
    id,
    kind: 'user',
    identities: [{ kind: 'user', id: `user-${id}` }],
    muted: false,
    serverMuted: false,
    inLobby: false,
    sources: { audio: `${seq}${id.length}` },
    seq,
    ...extra,
  };
}
