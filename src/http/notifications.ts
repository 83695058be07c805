/**
 * Parsing of `commsNotifications` as real payloads look (docs/teams-protocol.md#payloads): enum
 * strings in any casing, `resourceData` an object or an array, unknown fields passed through,
 * numbers that may come as strings.
 */
import { z } from 'zod';
import { CALL_ID_PATTERN } from '../redis/keys.js';

/**
 * Longest id, tenant id, user id or thread id kept from a call resource: Teams' own are GUIDs
 * or `19:meeting_…@thread.v2` strings well under this; anything longer is hostile, and would be
 * kept in the call record for its whole retention.
 */
export const MAX_ID_CHARS = 256;
/** Longest free text kept (the `resultInfo.message` of a terminated call). */
export const MAX_TEXT_CHARS = 1024;

const id = z.string().max(MAX_ID_CHARS);
const lower = z
  .string()
  .max(64)
  .transform((s) => s.toLowerCase());
const intLike = z.union([z.number(), z.string().regex(/^-?\d{1,15}$/)]).transform(Number);

const ResultInfo = z
  .object({
    code: intLike,
    subcode: intLike.optional(),
    message: z.string().max(MAX_TEXT_CHARS).optional(),
  })
  .loose();

const Identity = z.object({ id: id.optional(), tenantId: id.optional() }).loose();

export const CallResource = z
  .object({
    id: id.optional(),
    state: lower.optional(),
    direction: lower.optional(),
    tenantId: id.optional(),
    callChainId: id.optional(),
    myParticipantId: id.optional(),
    chatInfo: z.object({ threadId: id.optional() }).loose().optional(),
    source: z
      .object({
        id: id.optional(),
        identity: z.object({ user: Identity.optional() }).loose().optional(),
      })
      .loose()
      .optional(),
    incomingContext: z
      .object({
        sourceParticipantId: id.optional(),
        observedParticipantId: id.optional(),
      })
      .loose()
      .optional(),
    applicationMetadata: z
      .object({
        botData: z
          .object({
            user: z.object({ policyHolderId: id.optional() }).loose().optional(),
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
  })
  // A call resource with an oversized id refuses the whole request (400, nothing applied)
  // rather than be dropped silently or kept.
  .superRefine((n, ctx) => {
    const data = n.resourceData;
    if (data === undefined || Array.isArray(data) || resourceOf(n)?.kind !== 'call') return;
    const parsed = CallResource.safeParse(data);
    if (parsed.success) return;
    const issue = parsed.error.issues.find((i) => i.code === 'too_big');
    if (issue) {
      ctx.addIssue({
        code: 'custom',
        path: ['resourceData', ...issue.path.map(String)],
        message: issue.message,
      });
    }
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
  let callId: string;
  try {
    callId = decodeURIComponent(match[1] ?? '');
  } catch {
    return undefined; // a malformed percent-escape (URIError): not a call of ours
  }
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
