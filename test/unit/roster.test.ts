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
    expect(JSON.stringify({ ...roster, history: [] }).length).toBeLessThan(4096);
    // every presence stays in the history, with its join and leave times
    expect(roster.history).toHaveLength(200);
  });

  it('keeps the history of who left, with join and leave times and every source sent', () => {
    let r = applyRoster(EMPTY_ROSTER, { mode: 'full', participants: [participant('a', 0)] }, 1000);
    r = applyRoster(
      r,
      { mode: 'full', participants: [participant('a', 0), participant('b', 0, { sources: {} })] },
      2000,
    );
    // b starts sending video, then leaves; a leaves later
    r = applyRoster(
      r,
      {
        mode: 'full',
        participants: [participant('a', 0), participant('b', 0, { sources: { video: '77' } })],
      },
      3000,
    );
    r = applyRoster(r, { mode: 'full', participants: [participant('a', 0)] }, 4000);
    r = applyRoster(r, { mode: 'full', participants: [] }, 5000);
    expect(r.participants).toEqual({});
    expect(r.history).toEqual([
      expect.objectContaining({ id: 'a', joinedAt: 1000, leftAt: 5000, sources: ['01'] }),
      expect.objectContaining({ id: 'b', joinedAt: 2000, leftAt: 4000, sources: ['77'] }),
    ]);
    // the same participant id coming back opens a new presence
    r = applyRoster(r, { mode: 'full', participants: [participant('b', 0)] }, 6000);
    expect(r.history.filter((s) => s.id === 'b').map((s) => [s.joinedAt, s.leftAt])).toEqual([
      [2000, 4000],
      [6000, undefined],
    ]);
  });

  it('applies updates without sequence numbers in commit order: the last one wins', () => {
    const plain = (id: string, muted: boolean) => {
      const { seq: _seq, ...p } = participant(id, 0, { muted });
      return p;
    };
    let r = EMPTY_ROSTER;
    for (const muted of [true, false, true]) {
      r = applyRoster(r, { mode: 'full', participants: [plain('a', muted)] }, 1);
    }
    expect(r.participants.a?.muted).toBe(true);
    r = applyRoster(r, { mode: 'full', participants: [plain('a', true), plain('b', false)] }, 2);
    r = applyRoster(r, { mode: 'full', participants: [plain('a', true)] }, 3);
    expect(Object.keys(r.participants)).toEqual(['a']);
  });

  it('keeps at most maxParticipants present and sheds the oldest closed history, counted', () => {
    let r = EMPTY_ROSTER;
    const many = Array.from({ length: 8 }, (_, i) => participant(`p${i}`, 1));
    r = applyRoster(r, { mode: 'delta', participants: many }, 1, 5);
    expect(Object.keys(r.participants)).toHaveLength(5);
    expect(r.dropped).toBe(3);
    // known participants still update beyond the cap
    r = applyRoster(
      r,
      { mode: 'delta', participants: [participant('p0', 2, { muted: true })] },
      2,
      5,
    );
    expect(r.participants.p0?.muted).toBe(true);
    r = applyRoster(r, { mode: 'removed', participants: many.slice(0, 5) }, 3, 5);
    const droppedBefore = r.dropped;
    for (let i = 0; i < 20; i += 1) {
      r = applyRoster(r, { mode: 'delta', participants: [participant(`q${i}`, 3)] }, 3, 5);
      r = applyRoster(r, { mode: 'removed', participants: [participant(`q${i}`, 4)] }, 4, 5);
    }
    expect(r.history).toHaveLength(10);
    expect(r.history.at(-1)).toMatchObject({ id: 'q19', joinedAt: 3, leftAt: 4 });
    expect(r.dropped).toBe(droppedBefore + 15);
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
