import { describe, expect, it } from 'vitest';
import {
  CallResource,
  CommsNotifications,
  isLegacyNotification,
  resourceOf,
} from '../../src/http/notifications.js';

describe('commsNotifications parsing (docs/teams-protocol.md#payloads)', () => {
  it('accepts real-world casing, string result codes and unknown fields', () => {
    const parsed = CommsNotifications.parse({
      '@odata.type': '#microsoft.graph.commsNotifications',
      value: [
        {
          changeType: 'Deleted',
          resourceUrl: '/communications/calls/57dab8b1-894c-409a-b240-bd8beae78896',
          resourceData: {
            state: 'Terminated',
            terminationReason: 'x',
            resultInfo: { code: '200', subcode: '5001', message: 'The conversation has ended.' },
          },
        },
      ],
    });
    const n = parsed.value[0]!;
    expect(n.changeType).toBe('deleted');
    const call = CallResource.parse(n.resourceData);
    expect(call.state).toBe('terminated');
    expect(call.resultInfo).toMatchObject({ code: 200, subcode: 5001 });
    expect((call as Record<string, unknown>).terminationReason).toBe('x');
  });

  it('accepts resourceData as an array (roster updates)', () => {
    const parsed = CommsNotifications.parse({
      value: [
        {
          changeType: 'updated',
          resourceUrl: '/communications/calls/2f1a1100-b174-40a0-aba7-0b405e01ed92/participants',
          resourceData: [{ id: 'p1', isMuted: true }, { id: 'p2' }],
        },
      ],
    });
    expect(Array.isArray(parsed.value[0]!.resourceData)).toBe(true);
    expect(resourceOf(parsed.value[0]!)).toEqual({
      callId: '2f1a1100-b174-40a0-aba7-0b405e01ed92',
      kind: 'participants',
    });
  });

  it('finds the call from resourceUrl or the legacy resource path, and refuses odd ids', () => {
    const of = (resourceUrl?: string, resource?: string) =>
      resourceOf({ changeType: 'updated', resourceUrl, resource });
    expect(of('/communications/calls/abc-1')).toEqual({ callId: 'abc-1', kind: 'call' });
    expect(of(undefined, '/app/calls/abc-2')).toEqual({ callId: 'abc-2', kind: 'call' });
    expect(of('/communications/calls/abc-3/operations/op1')?.kind).toBe('operation');
    expect(of('/communications/calls/a}b{c')).toBeUndefined();
    expect(of('/communications/onlineMeetings/x')).toBeUndefined();
  });

  it('rejects bodies that are not notifications', () => {
    expect(CommsNotifications.safeParse({ value: [] }).success).toBe(false);
    expect(CommsNotifications.safeParse({ value: [{ changeType: 'created' }] }).success).toBe(
      false,
    );
    expect(
      CommsNotifications.safeParse({
        value: new Array(101).fill({ changeType: 'updated', resourceUrl: '/x' }),
      }).success,
    ).toBe(false);
  });

  it('recognises the legacy (pre-Graph) shape', () => {
    expect(isLegacyNotification({ id: 'x', callState: 'incoming', participants: [] })).toBe(true);
    expect(isLegacyNotification({ value: [] })).toBe(false);
    expect(isLegacyNotification(null)).toBe(false);
  });
});
