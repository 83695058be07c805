import { describe, expect, it } from 'vitest';
import { decide, parsePolicy, PolicyError, DEFAULT_POLICY } from '../../src/policy/policy.js';

const invite = {
  callId: 'c',
  tenantId: 'tenant-a',
  kind: 'p2p' as const,
  recordedUserId: 'user-1',
};

describe('answer policy', () => {
  it('answers every invite by default', () => {
    expect(decide(DEFAULT_POLICY, invite, 10_000)).toEqual({ action: 'answer' });
  });

  it('reads YAML and JSON and applies the first matching rule', () => {
    const yaml = parsePolicy(`
rules:
  - name: blocked-tenant
    tenantIds: [tenant-a]
    reason: forbidden
  - name: user
    recordedUserIds: [user-1]
    reason: busy
`);
    expect(decide(yaml, invite, 0)).toEqual({
      action: 'reject',
      reason: 'forbidden',
      rule: 'blocked-tenant',
    });
    const json = parsePolicy(
      JSON.stringify({ rules: [{ name: 'u', recordedUserIds: ['user-1'], reason: 'none' }] }),
    );
    expect(decide(json, invite, 0)).toEqual({ action: 'reject', reason: 'none', rule: 'u' });
    expect(decide(json, { ...invite, recordedUserId: 'user-2' }, 0)).toEqual({ action: 'answer' });
  });

  it('rejects busy above the capacity limit so a paired recorder takes the call', () => {
    const p = parsePolicy('maxActiveCalls: 2');
    expect(decide(p, invite, 1)).toEqual({ action: 'answer' });
    expect(decide(p, invite, 2)).toEqual({ action: 'reject', reason: 'busy', rule: 'capacity' });
  });

  it('refuses a bad policy with a message that names the field', () => {
    expect(() => parsePolicy('rules: [{ name: x, reason: maybe, tenantIds: [a] }]')).toThrow(
      /rules\.0\.reason/,
    );
    expect(() => parsePolicy('rules: [{ name: x }]')).toThrow(PolicyError);
    expect(() => parsePolicy('maxActiveCalls: -1')).toThrow(/maxActiveCalls/);
    expect(() => parsePolicy('{ nope')).toThrow(PolicyError);
  });
});
