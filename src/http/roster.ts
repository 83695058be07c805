/**
 * Roster notifications (docs/teams-protocol.md#roster) → the compact participants the call machine
 * keeps. Identity shapes vary (user, guest, phone, application, applicationInstance, or something
 * else for guests of other tenants); names are dropped on purpose.
 */
import { z } from 'zod';
import type { Participant } from '../../machines/call.js';

const lower = z.string().transform((s) => s.toLowerCase());
const IdentityValue = z
  .object({ id: z.string().optional(), tenantId: z.string().optional() })
  .loose();

const GraphParticipant = z
  .object({
    id: z.string().min(1).max(256),
    info: z
      .object({ identity: z.record(z.string(), z.unknown()).optional() })
      .loose()
      .optional(),
    isMuted: z.boolean().optional(),
    isInLobby: z.boolean().optional(),
    rosterSequenceNumber: z.union([z.number(), z.string().regex(/^\d+$/)]).optional(),
    mediaStreams: z
      .array(z.object({ mediaType: lower.optional(), sourceId: z.string().optional() }).loose())
      .max(32)
      .optional(),
  })
  .loose();

const KINDS = ['user', 'applicationInstance', 'application', 'phone', 'guest'] as const;
const SOURCE_SLOT = { audio: 'audio', video: 'video', videobasedscreensharing: 'screen' } as const;

/** Parse a roster array; entries that are not participants are skipped, not fatal. */
export function toParticipants(resourceData: unknown[]): Participant[] {
  const participants: Participant[] = [];
  for (const raw of resourceData.slice(0, 1000)) {
    const parsed = GraphParticipant.safeParse(raw);
    if (parsed.success) participants.push(toParticipant(parsed.data));
  }
  return participants;
}

function toParticipant(p: z.infer<typeof GraphParticipant>): Participant {
  const identity = p.info?.identity ?? {};
  const kind =
    KINDS.find((k) => identity[k] !== undefined && identity[k] !== null) ??
    (Object.keys(identity).some((k) => !k.startsWith('@')) ? 'guest' : 'unknown');
  const value = IdentityValue.safeParse(
    kind === 'unknown' ? {} : (identity[kind] ?? firstIdentity(identity)),
  );
  const sources: Participant['sources'] = {};
  for (const stream of p.mediaStreams ?? []) {
    const slot = SOURCE_SLOT[stream.mediaType as keyof typeof SOURCE_SLOT];
    if (slot && stream.sourceId && sources[slot] === undefined) sources[slot] = stream.sourceId;
  }
  return {
    id: p.id,
    kind,
    ...(value.success && value.data.id ? { identityId: value.data.id } : {}),
    ...(value.success && value.data.tenantId ? { tenantId: value.data.tenantId } : {}),
    muted: p.isMuted ?? false,
    inLobby: p.isInLobby ?? false,
    sources,
    ...(p.rosterSequenceNumber !== undefined ? { seq: Number(p.rosterSequenceNumber) } : {}),
  };
}

function firstIdentity(identity: Record<string, unknown>): unknown {
  const key = Object.keys(identity).find((k) => !k.startsWith('@'));
  return key === undefined ? {} : identity[key];
}
