import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/policy/policy.js';
import { callReaches, eventually, startSystem, type System } from '../helpers/system.js';

const BLOCKED_TENANT = '11111111-2222-4333-8444-555555555555';
const BUSY_USER = '99999999-8888-4777-8666-555555555555';
const OPERATOR_TOKEN = 'capacity-test-operator-token';
let system: System;

beforeAll(async () => {
  system = await startSystem({
    name: 'policy',
    policy: parsePolicy(`
rules:
  - name: suspended-tenant
    tenantIds: [${BLOCKED_TENANT}]
    reason: forbidden
  - name: busy-user
    recordedUserIds: [${BUSY_USER}]
    reason: busy
`),
  });
});
afterAll(async () => {
  await system?.close();
});

describe('answer policy, end to end', () => {
  it('rejects an invite of a blocked tenant with the rule reason and never answers', async () => {
    const call = await system.sim.placeCall({ kind: 'p2p', tenantId: BLOCKED_TENANT });
    await call.waitFor('terminated', 8000);
    expect(call.reject?.reason).toBe('forbidden');
    expect(call.reject!.at - call.invitedAt).toBeLessThan(5000);
    expect(call.answerAttempts).toBe(0);
    const state = await callReaches(system, call.id, 'rejected');
    expect(state.snapshot.context.verdict).toEqual({
      action: 'reject',
      reason: 'forbidden',
      rule: 'suspended-tenant',
    });
  });

  it('rejects a recorded user by rule with reason busy, and still answers others', async () => {
    const rejected = await system.sim.placeCall({ kind: 'meeting', userId: BUSY_USER });
    const answered = await system.sim.placeCall({ kind: 'meeting' });
    await rejected.waitFor('terminated', 8000);
    await answered.waitFor('established', 8000);
    expect(rejected.reject?.reason).toBe('busy');
    expect(answered.reject).toBeUndefined();
    await callReaches(system, rejected.id, 'rejected');
  });
});

describe('capacity', () => {
  let small: System;
  beforeAll(async () => {
    small = await startSystem({
      name: 'capacity',
      policy: parsePolicy('maxActiveCalls: 1'),
      env: { ADMIN_TOKEN: OPERATOR_TOKEN },
    });
  });
  afterAll(async () => {
    await small?.close();
  });

  it('rejects busy once the capacity is taken, so a paired recorder can take the call', async () => {
    const first = await small.sim.placeCall({ kind: 'p2p' });
    await first.waitFor('established', 8000);
    const second = await small.sim.placeCall({ kind: 'p2p' });
    await second.waitFor('terminated', 8000);
    expect(second.reject?.reason).toBe('busy');
    const state = await callReaches(small, second.id, 'rejected');
    expect(state.snapshot.context.verdict).toMatchObject({ rule: 'capacity' });
    // full, yet ready: it must keep taking invites (to reject them) and its calls' callbacks
    // (the load is shown to the operator only)
    // (the rejected call leaves the live-calls index with the worker's next round trip, within
    // its store's ack delay)
    const checks = await eventually(async () => {
      const ready = await fetch(`${small.ingress.url}/readyz`, {
        headers: { authorization: `Bearer ${OPERATOR_TOKEN}` },
      });
      expect(ready.status).toBe(200);
      const body = (await ready.json()) as { checks: { activeCalls: number } };
      return body.checks.activeCalls === 1 ? body.checks : undefined;
    }, 2000);
    expect(checks).toMatchObject({ activeCalls: 1, capacityLeft: 0 });
  });
});
