/**
 * Roster notifications → the compact participants the call machine keeps. Shapes as Graph
 * documents them (https://learn.microsoft.com/en-us/graph/api/resources/participant,
 * https://learn.microsoft.com/en-us/graph/api/resources/identityset,
 * https://learn.microsoft.com/en-us/graph/api/resources/mediastream):
 *
 * - an identity set may hold several identities at once (a bot in a meeting has `application`
 *   and `guest`); each is kept with its own id, and one kind is chosen for display;
 * - only streams the participant sends (`sendOnly`, `sendReceive`) are its sources: a
 *   `receiveOnly` or `inactive` stream's source id is someone else's media;
 * - `serverMuted` on a stream means the server muted the participant.
 *
 * Names are dropped on purpose. Everything is bounded: participants per notification and the
 * length of every id (`RosterLimits`); what is cut is counted (`RosterCuts`).
 */
import { z } from 'zod';
import type { Identity, IdentityKind, Participant } from '../../machines/call.js';

export interface RosterLimits {
  /** Participants read from one notification; the rest are dropped. */
  maxPerNotification: number;
  /** Longest participant, identity, tenant or source id kept. */
  maxIdLength: number;
}

export const DEFAULT_ROSTER_LIMITS: RosterLimits = { maxPerNotification: 1000, maxIdLength: 256 };

/** What the limits cut from one notification (for the metrics). */
export interface RosterCuts {
  /** Participants beyond `maxPerNotification`, or whose own id was too long. */
  participants: number;
  /** Identity, tenant and source ids too long to keep. */
  ids: number;
}

const lower = z.string().transform((s) => s.toLowerCase());

const GraphParticipant = z
  .object({
    id: z.string().min(1),
    info: z
      .object({ identity: z.record(z.string(), z.unknown()).nullish() })
      .loose()
      .nullish(),
    isMuted: z.boolean().nullish(),
    isInLobby: z.boolean().nullish(),
    rosterSequenceNumber: z.union([z.number(), z.string().regex(/^\d{1,15}$/)]).nullish(),
    mediaStreams: z
      .array(
        z
          .object({
            mediaType: lower.nullish(),
            sourceId: z.union([z.string(), z.number()]).nullish(),
            direction: lower.nullish(),
            serverMuted: z.boolean().nullish(),
          })
          .loose(),
      )
      .max(32)
      .nullish(),
  })
  .loose();

const IdentityValue = z
  .object({ id: z.string().nullish(), tenantId: z.string().nullish() })
  .loose();

/** Display order: the most telling kind of a set first (a bot's `application` beats `guest`). */
const KINDS: readonly Exclude<IdentityKind, 'other'>[] = [
  'user',
  'phone',
  'applicationInstance',
  'application',
  'guest',
];
const MAX_IDENTITIES = 8;
const SOURCE_SLOT = { audio: 'audio', video: 'video', videobasedscreensharing: 'screen' } as const;
/** Directions in which the participant sends: its stream's source id is its own media. */
const SENDS = new Set(['sendonly', 'sendreceive']);

/** Parse a roster array; entries that are not participants are skipped, not fatal. */
export function toParticipants(
  resourceData: unknown[],
  limits: RosterLimits = DEFAULT_ROSTER_LIMITS,
): { participants: Participant[]; cuts: RosterCuts } {
  const cuts: RosterCuts = {
    participants: Math.max(0, resourceData.length - limits.maxPerNotification),
    ids: 0,
  };
  const participants: Participant[] = [];
  for (const raw of resourceData.slice(0, limits.maxPerNotification)) {
    const parsed = GraphParticipant.safeParse(raw);
    if (!parsed.success) continue;
    if (parsed.data.id.length > limits.maxIdLength) {
      cuts.participants += 1;
      continue;
    }
    participants.push(toParticipant(parsed.data, limits, cuts));
  }
  return { participants, cuts };
}

function toParticipant(
  p: z.infer<typeof GraphParticipant>,
  limits: RosterLimits,
  cuts: RosterCuts,
): Participant {
  const bounded = (value: string | number | null | undefined): string | undefined => {
    if (value === null || value === undefined || value === '') return undefined;
    const text = String(value);
    if (text.length <= limits.maxIdLength) return text;
    cuts.ids += 1;
    return undefined;
  };
  const identities = identitiesOf(p.info?.identity ?? {}, bounded);
  const kind =
    KINDS.find((k) => identities.some((i) => i.kind === k)) ??
    (identities.length > 0 ? 'other' : 'unknown');
  const sources: Participant['sources'] = {};
  let serverMuted = false;
  for (const stream of p.mediaStreams ?? []) {
    if (stream.serverMuted === true) serverMuted = true;
    // a stream without a direction is taken as sent, as older payloads omit it
    if (stream.direction && !SENDS.has(stream.direction)) continue;
    const slot = SOURCE_SLOT[stream.mediaType as keyof typeof SOURCE_SLOT];
    const sourceId = bounded(stream.sourceId);
    if (slot && sourceId && sources[slot] === undefined) sources[slot] = sourceId;
  }
  const seq = p.rosterSequenceNumber;
  return {
    id: p.id,
    kind,
    identities,
    muted: p.isMuted ?? false,
    serverMuted,
    inLobby: p.isInLobby ?? false,
    sources,
    ...(seq !== undefined && seq !== null ? { seq: Number(seq) } : {}),
  };
}

/** Every identity of the set (`@odata.type` and nulls skipped), each with its own id. */
function identitiesOf(
  set: Record<string, unknown>,
  bounded: (value: string | undefined | null) => string | undefined,
): Identity[] {
  const identities: Identity[] = [];
  for (const [key, value] of Object.entries(set)) {
    if (key.startsWith('@') || value === null || typeof value !== 'object') continue;
    if (identities.length >= MAX_IDENTITIES) break;
    const parsed = IdentityValue.safeParse(value);
    if (!parsed.success) continue;
    const kind = (KINDS as readonly string[]).includes(key) ? (key as IdentityKind) : 'other';
    const id = bounded(parsed.data.id);
    const tenantId = bounded(parsed.data.tenantId);
    identities.push({ kind, ...(id ? { id } : {}), ...(tenantId ? { tenantId } : {}) });
  }
  return identities;
}
