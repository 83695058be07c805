/**
 * What the media process knows of a call's roster: the source ids (MSIs) the roster announced
 * and who owns each. It reads them from the call's committed snapshot in Redis (the `snap`
 * field of the call hash, on the call's `{callId}` hash tag), and only when the call's version
 * moved, so a quiet call costs one HGET per poll.
 */
import type { CallContext } from '../../machines/call.js';
import { snapshotJson } from '../redis/snapshot-codec.js';
import type { SpeakerMap } from './recording/index.js';

const MSI = /^\d{1,10}$/;

/** sourceId → owner, from a stored call snapshot's roster (either form); {} when there is none. */
export function speakersOfSnapshot(stored: string): SpeakerMap {
  let roster: CallContext['roster'] | undefined;
  try {
    roster = (JSON.parse(snapshotJson(stored)) as { context?: CallContext }).context?.roster;
  } catch {
    return {};
  }
  const sources: SpeakerMap = {};
  for (const p of Object.values(roster?.participants ?? {})) {
    for (const sourceId of Object.values(p.sources ?? {})) {
      // the MSIs of cr-media/1 are unsigned 32-bit numbers; anything else never reaches a track
      if (sourceId === undefined || !MSI.test(sourceId) || Number(sourceId) > 0xffffffff) continue;
      sources[String(Number(sourceId))] = {
        participantId: p.id,
        kind: p.kind,
        identities: (p.identities ?? []).map((i) => ({
          kind: i.kind,
          ...(i.id !== undefined ? { id: i.id } : {}),
          ...(i.tenantId !== undefined ? { tenantId: i.tenantId } : {}),
        })),
      };
    }
  }
  return sources;
}
