/**
 * Pure roster bookkeeping for the call machine: apply full rosters, deltas and removals,
 * ignore updates older than what was applied (`rosterSequenceNumber`; removals leave a
 * tombstone so a late older update cannot bring a participant back), and keep the
 * sourceId → participant map the media process uses to attribute unmixed audio.
 */
import type { CallContext, Participant, RosterUpdate } from './call-types.js';

type Roster = CallContext['roster'];

export const EMPTY_ROSTER: Roster = { participants: {}, sources: {}, seq: 0, left: {} };
const TOMBSTONES_MAX = 64;

/** The next roster, or the same object when the update changes nothing. */
export function applyRoster(roster: Roster, update: RosterUpdate): Roster {
  const updateSeq = Math.max(0, ...update.participants.map((p) => p.seq ?? 0));
  let participants: Record<string, Participant>;
  const left = { ...roster.left };
  if (update.mode === 'full') {
    // an older full roster than the one applied would undo later joins and leaves
    if (updateSeq > 0 && updateSeq < roster.seq) return roster;
    participants = Object.fromEntries(update.participants.map((p) => [p.id, p]));
  } else {
    participants = { ...roster.participants };
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
