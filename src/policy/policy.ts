/**
 * Answer policy (`POLICY_FILE`, JSON or YAML). By default every policy invite is answered.
 * Rules, checked in order, reject by tenant or recorded user with a reason; above
 * `maxActiveCalls` live calls new invites are rejected `busy`, so that a paired recorder (Teams
 * invites all of them in parallel) takes the call instead of this one failing it.
 *
 * ```yaml
 * maxActiveCalls: 500
 * participantCapacity: 1
 * rules:
 *   - name: suspended-tenant
 *     tenantIds: [932899f8-2ea1-4604-8413-27bd2892079f]
 *     reason: forbidden
 *   - name: not-licensed
 *     recordedUserIds: [8a34a46b-3d17-4adc-8dce-dc4e7d572698]
 *     reason: none
 * ```
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { Invite, Verdict } from '../../machines/call.js';

const RuleSchema = z
  .object({
    name: z.string().min(1),
    tenantIds: z.array(z.string().min(1)).optional(),
    recordedUserIds: z.array(z.string().min(1)).optional(),
    action: z.literal('reject').default('reject'),
    reason: z.enum(['busy', 'forbidden', 'none']).default('none'),
  })
  .strict()
  .refine((r) => (r.tenantIds?.length ?? 0) + (r.recordedUserIds?.length ?? 0) > 0, {
    message: 'a rule needs tenantIds or recordedUserIds',
  });

const PolicySchema = z
  .object({
    maxActiveCalls: z.number().int().positive().optional(),
    participantCapacity: z.number().int().min(1).max(100).default(1),
    rules: z.array(RuleSchema).default([]),
  })
  .strict();

export type AnswerPolicy = z.infer<typeof PolicySchema>;

export const DEFAULT_POLICY: AnswerPolicy = Object.freeze({ participantCapacity: 1, rules: [] });

export class PolicyError extends Error {
  override name = 'PolicyError';
}

/** Parse a policy document (YAML is a superset of JSON, so one parser reads both). */
export function parsePolicy(text: string, source = 'policy'): AnswerPolicy {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new PolicyError(`${source}: not JSON or YAML: ${(error as Error).message}`);
  }
  const parsed = PolicySchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new PolicyError(`${source}: ${where.join('; ')}`);
  }
  return parsed.data;
}

export async function loadPolicy(file: string | undefined): Promise<AnswerPolicy> {
  if (!file) return DEFAULT_POLICY;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    // a missing or unreadable file is a configuration error (exit 2), not a crash to retry
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new PolicyError(`POLICY_FILE: cannot read ${JSON.stringify(file)} (${code})`);
  }
  return parsePolicy(text, file);
}

/** Decide an invite: explicit rules first, then capacity, then answer. */
export function decide(policy: AnswerPolicy, invite: Invite, activeCalls: number): Verdict {
  for (const rule of policy.rules) {
    const tenantHit = rule.tenantIds?.includes(invite.tenantId) ?? false;
    const userHit =
      invite.recordedUserId !== undefined &&
      (rule.recordedUserIds?.includes(invite.recordedUserId) ?? false);
    if (tenantHit || userHit) return { action: 'reject', reason: rule.reason, rule: rule.name };
  }
  if (policy.maxActiveCalls !== undefined && activeCalls >= policy.maxActiveCalls) {
    return { action: 'reject', reason: 'busy', rule: 'capacity' };
  }
  return { action: 'answer' };
}
