/**
 * Pure roster bookkeeping for the call machine: apply full rosters, deltas and removals in any
 * arrival order, using each participant's `rosterSequenceNumber` (the sequence number of its
 * last change), and keep the sourceId → participant map the media process uses to attribute
 * unmixed audio.
 *
 * - A participant's state is replaced only by a newer one; a removal leaves a tombstone so a
 *   late, older update cannot bring the participant back.
 * - A full roster lists everyone present. A known participant it leaves out is removed when the
 *   roster is at least as new as that participant's last change; when the participant changed
 *   after the newest change the roster shows, the two cannot be told apart from a late, stale
 *   roster (Teams sends no roster version), so the participant is kept until a newer roster.
 */
import type { CallContext, Participant, RosterUpdate } from './call-types.js';

type Roster = CallContext['roster'];

export const EMPTY_ROSTER: Roster = { participants: {}, sources: {}, seq: 0, left: {} };
const TOMBSTONES_MAX = 64;

/** The next roster, or the same object when the update changes nothing. */
export function applyRoster(roster: Roster, update: RosterUpdate): Roster {
  const updateSeq = Math.max(0, ...update.participants.map((p) => p.seq ?? 0));
  const participants = { ...roster.participants };
  const left = { ...roster.left };
  for (const p of update.participants) {
    // the newest thing known about this participant: present (its seq) or gone (tombstone)
    const newest = participants[p.id]?.seq ?? left[p.id];
    if (newest !== undefined && p.seq !== undefined && p.seq < newest) continue;
    if (update.mode === 'removed') {
      delete participants[p.id];
      if (p.seq !== undefined) left[p.id] = p.seq;
    } else {
      participants[p.id] = p;
      delete left[p.id];
    }
  }
  if (update.mode === 'full') {
    const listed = new Set(update.participants.map((p) => p.id));
    for (const [id, known] of Object.entries(participants)) {
      if (listed.has(id) || (known.seq !== undefined && known.seq > updateSeq)) continue;
      delete participants[id];
      if (known.seq !== undefined) left[id] = Math.max(known.seq, updateSeq);
    }
  }
  const next: Roster = {
    participants,
    sources: sourcesOf(participants),
    seq: Math.max(roster.seq, updateSeq),
    left: trimTombstones(left),
  };
  return sameRoster(roster, next) ? roster : next;
}

function sourcesOf(participants: Record<string, Participant>): Record<string, string> {
  const sources: Record<string, string> = {};
  for (const p of Object.values(participants)) {
    for (const id of Object.values(p.sources)) if (id !== undefined) sources[id] = p.id;
  }
  return sources;
}

function sameRoster(a: Roster, b: Roster): boolean {
  return (
    a.seq === b.seq &&
    JSON.stringify(a.participants) === JSON.stringify(b.participants) &&
    JSON.stringify(a.left) === JSON.stringify(b.left)
  );
}

/** Keep the newest tombstones only: the snapshot stays small in long meetings. */
function trimTombstones(left: Record<string, number>): Record<string, number> {
  const entries = Object.entries(left);
  if (entries.length <= TOMBSTONES_MAX) return left;
  return Object.fromEntries(entries.sort((x, y) => y[1] - x[1]).slice(0, TOMBSTONES_MAX));
}
