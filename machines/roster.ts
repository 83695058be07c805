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
 * - Real traffic mostly carries no `rosterSequenceNumber`: such updates apply in commit order,
 *   the last one committed wins.
 * - Every presence is kept in `history` with its join and leave times (the event's time), so a
 *   participant who left still says who owned a source id and when.
 * - At most `maxParticipants` are present; newcomers beyond it are dropped and counted.
 */
import type { CallContext, Participant, ParticipantStint, RosterUpdate } from './call-types.js';

type Roster = CallContext['roster'];

export const EMPTY_ROSTER: Roster = {
  participants: {},
  sources: {},
  seq: 0,
  left: {},
  history: [],
  dropped: 0,
};
const TOMBSTONES_MAX = 64;
export const ROSTER_MAX_PARTICIPANTS = 1000;

/** The next roster, or the same object when the update changes nothing. */
export function applyRoster(
  roster: Roster,
  update: RosterUpdate,
  at = 0,
  maxParticipants = ROSTER_MAX_PARTICIPANTS,
): Roster {
  const updateSeq = Math.max(0, ...update.participants.map((p) => p.seq ?? 0));
  const participants = { ...roster.participants };
  const left = { ...roster.left };
  let dropped = roster.dropped;
  for (const p of update.participants) {
    // the newest thing known about this participant: present (its seq) or gone (tombstone)
    const newest = participants[p.id]?.seq ?? left[p.id];
    if (newest !== undefined && p.seq !== undefined && p.seq < newest) continue;
    if (update.mode === 'removed') {
      delete participants[p.id];
      if (p.seq !== undefined) left[p.id] = p.seq;
    } else if (
      participants[p.id] === undefined &&
      Object.keys(participants).length >= maxParticipants
    ) {
      dropped += 1;
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
  const history = historyOf(roster.history, participants, at, maxParticipants * 2);
  const next: Roster = {
    participants,
    sources: sourcesOf(participants),
    seq: Math.max(roster.seq, updateSeq),
    left: trimTombstones(left),
    history: history.stints,
    dropped: dropped + history.shed,
  };
  return sameRoster(roster, next) ? roster : next;
}

/**
 * The history after the roster became `present`: a stint opens for each newcomer, closes for
 * each participant gone, and gathers the source ids its participant sent. Beyond `max` stints
 * the oldest closed ones are shed (counted).
 */
function historyOf(
  previous: ParticipantStint[],
  present: Record<string, Participant>,
  at: number,
  max: number,
): { stints: ParticipantStint[]; shed: number } {
  const open = new Set<string>();
  const stints = previous.map((stint) => {
    if (stint.leftAt !== undefined) return stint;
    const p = present[stint.id];
    if (!p) return { ...stint, leftAt: at };
    open.add(stint.id);
    const sources = [...new Set([...stint.sources, ...sourceIds(p)])];
    const same =
      sources.length === stint.sources.length &&
      p.kind === stint.kind &&
      JSON.stringify(p.identities) === JSON.stringify(stint.identities);
    return same ? stint : { ...stint, kind: p.kind, identities: p.identities, sources };
  });
  for (const p of Object.values(present)) {
    if (open.has(p.id)) continue;
    stints.push({
      id: p.id,
      kind: p.kind,
      identities: p.identities,
      sources: sourceIds(p),
      joinedAt: at,
    });
  }
  let shed = 0;
  while (stints.length > max) {
    const oldestClosed = stints.findIndex((s) => s.leftAt !== undefined);
    if (oldestClosed < 0) break;
    stints.splice(oldestClosed, 1);
    shed += 1;
  }
  return { stints, shed };
}

const sourceIds = (p: Participant): string[] =>
  Object.values(p.sources).filter((id): id is string => id !== undefined);

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
    a.dropped === b.dropped &&
    JSON.stringify(a.history) === JSON.stringify(b.history) &&
    JSON.stringify(a.participants) === JSON.stringify(b.participants) &&
    JSON.stringify(a.left) === JSON.stringify(b.left)
  );
}

/**
 * The roster as a call snapshot stores it: without what its participants already say. The
 * source map is left out (it is derived from the participants), and so are the kind and
 * identities of every stint whose participant is present with the same ones (a participant's
 * GUIDs would otherwise be stored three times). `unpackRoster` restores the roster exactly, key
 * order included (the machine compares rosters by their JSON); a roster stored whole, as older
 * builds did, passes through it unchanged.
 */
export function packRoster(roster: Roster): PackedRoster {
  const { participants, sources: _derived, ...rest } = roster;
  const history = roster.history.map((stint) => {
    const p = participants[stint.id];
    if (!p || p.kind !== stint.kind || !sameIdentities(p.identities, stint.identities)) {
      return stint;
    }
    const { kind: _kind, identities: _identities, ...short } = stint;
    return short;
  });
  return { participants, ...rest, history };
}

/** The roster a snapshot stored with `packRoster` (or whole). */
export function unpackRoster(packed: PackedRoster): Roster {
  const { participants, sources, ...rest } = packed;
  const history = packed.history.map((stint): ParticipantStint => {
    // whole (stored so by an older build), or not a stint at all: as it is
    if (typeof stint !== 'object' || stint === null) return stint;
    if ('identities' in stint && 'kind' in stint) return stint;
    const { id, ...after } = stint;
    // a stint stored short has its participant in the same snapshot; one without is not ours
    const p = participants[id];
    const kind = p?.kind ?? 'unknown';
    return { id, kind, identities: p?.identities ?? [], ...after };
  });
  return { participants, sources: sources ?? sourcesOf(participants), ...rest, history };
}

/** A roster as stored: the source map left out, stints short where their participant says it. */
export type PackedRoster = Omit<Roster, 'sources' | 'history'> & {
  sources?: Roster['sources'];
  history: Array<ParticipantStint | Omit<ParticipantStint, 'kind' | 'identities'>>;
};

const sameIdentities = (a: Participant['identities'], b: Participant['identities']): boolean =>
  a === b || JSON.stringify(a) === JSON.stringify(b);

/** Keep the newest tombstones only: the snapshot stays small in long meetings. */
function trimTombstones(left: Record<string, number>): Record<string, number> {
  const entries = Object.entries(left);
  if (entries.length <= TOMBSTONES_MAX) return left;
  return Object.fromEntries(entries.sort((x, y) => y[1] - x[1]).slice(0, TOMBSTONES_MAX));
}
