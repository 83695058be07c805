import { describe, expect, it } from 'vitest';
import { applyRoster, EMPTY_ROSTER } from '../../machines/roster.js';
import { participant } from '../helpers/call-events.js';

describe('roster bookkeeping', () => {
  it('a late, older update cannot bring back a participant who left', () => {
    const r1 = applyRoster(EMPTY_ROSTER, { mode: 'delta', participants: [participant('a', 1)] });
    const r2 = applyRoster(r1, { mode: 'removed', participants: [participant('a', 5)] });
    expect(r2.participants).toEqual({});
    expect(r2.left).toEqual({ a: 5 });
    expect(applyRoster(r2, { mode: 'delta', participants: [participant('a', 3)] })).toBe(r2);
    const back = applyRoster(r2, { mode: 'delta', participants: [participant('a', 6)] });
    expect(Object.keys(back.participants)).toEqual(['a']);
    expect(back.left).toEqual({});
  });

  it('maps every media source to its participant and drops the sources of those who left', () => {
    const r1 = applyRoster(EMPTY_ROSTER, {
      mode: 'full',
      participants: [
        participant('a', 1, { sources: { audio: '10', video: '11', screen: '12' } }),
        participant('b', 1, { sources: { audio: '20' } }),
      ],
    });
    expect(r1.sources).toEqual({ '10': 'a', '11': 'a', '12': 'a', '20': 'b' });
    const r2 = applyRoster(r1, { mode: 'removed', participants: [participant('a', 2)] });
    expect(r2.sources).toEqual({ '20': 'b' });
  });

  it('keeps the tombstones bounded in long meetings', () => {
    let roster = EMPTY_ROSTER;
    for (let i = 0; i < 200; i += 1) {
      roster = applyRoster(roster, {
        mode: 'delta',
        participants: [participant(`p${i}`, 2 * i + 1)],
      });
      roster = applyRoster(roster, {
        mode: 'removed',
        participants: [participant(`p${i}`, 2 * i + 2)],
      });
    }
    expect(Object.keys(roster.left).length).toBeLessThanOrEqual(64);
    expect(roster.left.p199).toBe(400);
    expect(JSON.stringify(roster).length).toBeLessThan(4096);
  });

  it('a full roster removes those it leaves out, even when the removal was the newest change', () => {
    const r1 = applyRoster(EMPTY_ROSTER, {
      mode: 'full',
      participants: [participant('a', 1), participant('b', 2), participant('c', 3)],
    });
    // c (the newest change) left; the next full roster's highest number is lower than before
    const r2 = applyRoster(r1, {
      mode: 'full',
      participants: [participant('a', 1), participant('b', 2)],
    });
    // ambiguous with a late stale roster: c is kept until a newer roster shows it gone
    expect(Object.keys(r2.participants).sort()).toEqual(['a', 'b', 'c']);
    const r3 = applyRoster(r2, {
      mode: 'full',
      participants: [participant('a', 1), participant('b', 4, { muted: true })],
    });
    expect(Object.keys(r3.participants).sort()).toEqual(['a', 'b']);
    expect(r3.participants.b?.muted).toBe(true);
    // and a stale roster that still lists c cannot bring it back
    const r4 = applyRoster(r3, {
      mode: 'full',
      participants: [participant('a', 1), participant('b', 2), participant('c', 3)],
    });
    expect(Object.keys(r4.participants).sort()).toEqual(['a', 'b']);
    expect(r4.participants.b?.muted).toBe(true);
  });

  it('a late, stale full roster does not drop a participant who joined after it', () => {
    const r1 = applyRoster(EMPTY_ROSTER, {
      mode: 'full',
      participants: [participant('a', 1), participant('b', 2)],
    });
    const stale = { mode: 'full' as const, participants: [participant('a', 1)] };
    expect(Object.keys(applyRoster(r1, stale).participants).sort()).toEqual(['a', 'b']);
  });
});
