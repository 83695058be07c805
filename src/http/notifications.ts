/**
 * Parsing of `commsNotifications` as real payloads look (docs/teams-protocol.md#payloads): enum
 * strings in any casing, `resourceData` an object or an array, unknown fields passed through,
 * numbers that may come as strings.
 */
import { z } from 'zod';
import { CALL_ID_PATTERN } from '../redis/keys.js';

const lower = z.string().transform((s) => s.toLowerCase());
const intLike = z.union([z.number(), z.string().regex(/^-?\d+$/)]).transform(Number);

const ResultInfo = z
  .object({ code: intLike, subcode: intLike.optional(), message: z.string().optional() })
  .loose();

const Identity = z.object({ id: z.string().optional(), tenantId: z.string().optional() }).loose();

export const CallResource = z
  .object({
    id: z.string().optional(),
    state: lower.optional(),
    direction: lower.optional(),
    tenantId: z.string().optional(),
    callChainId: z.string().optional(),
    myParticipantId: z.string().optional(),
    chatInfo: z.object({ threadId: z.string().optional() }).loose().optional(),
    source: z
      .object({
        id: z.string().optional(),
        identity: z.object({ user: Identity.optional() }).loose().optional(),
      })
      .loose()
      .optional(),
    incomingContext: z
      .object({
        sourceParticipantId: z.string().optional(),
        observedParticipantId: z.string().optional(),
      })
      .loose()
      .optional(),
    applicationMetadata: z
      .object({
        botData: z
          .object({
            user: z.object({ policyHolderId: z.string().optional() }).loose().optional(),
            isMultiParty: z.boolean().optional(),
          })
          .loose()
          .optional(),
      })
      .loose()
      .optional(),
    resultInfo: ResultInfo.optional(),
  })
  .loose();

export type CallResourceData = z.infer<typeof CallResource>;

const ResourceData = z.union([
  z.array(z.record(z.string(), z.unknown())),
  z.record(z.string(), z.unknown()),
]);

export const Notification = z
  .object({
    changeType: lower,
    resourceUrl: z.string().max(2048).optional(),
    resource: z.string().max(2048).optional(),
    callbackUri: z.string().optional(),
    resourceData: ResourceData.optional(),
  })
  .loose()
  .refine((n) => n.resourceUrl !== undefined || n.resource !== undefined, {
    message: 'resourceUrl or resource is required',
  });

export type ParsedNotification = z.infer<typeof Notification>;

export const CommsNotifications = z
  .object({ value: z.array(Notification).min(1).max(100) })
  .loose();

/**
 * The pre-Graph (Skype) shape that Teams may send first; answered 204
 * (docs/teams-protocol.md#delivery).
 */
export function isLegacyNotification(body: unknown): boolean {
  return (
    typeof body === 'object' &&
    body !== null &&
    !('value' in body) &&
    ('callState' in body || 'participants' in body)
  );
}

export interface ResourceRef {
  callId: string;
  /** What under the call changed: the call itself, its participants, an operation, … */
  kind: 'call' | 'participants' | 'operation' | 'other';
}

const CALL_PATH = /^\/(?:communications|app)\/calls\/([^/?#]+)(?:\/([^/?#]+))?/i;

/** Which call a notification is about, from `resourceUrl` (or the legacy `resource`). */
export function resourceOf(n: ParsedNotification): ResourceRef | undefined {
  const match = CALL_PATH.exec(n.resourceUrl ?? n.resource ?? '');
  if (!match) return undefined;
  const callId = decodeURIComponent(match[1] ?? '');
  if (!CALL_ID_PATTERN.test(callId)) return undefined;
  const sub = match[2]?.toLowerCase();
  const kind =
    sub === undefined
      ? 'call'
      : sub === 'participants'
        ? 'participants'
        : sub === 'operations'
          ? 'operation'
          : 'other';
  return { callId, kind };
}
