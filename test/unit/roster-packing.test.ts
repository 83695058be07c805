/**
 * A snapshot stores its roster packed (no derived source map, no identities repeated in the join
 * history); unpacked, it is the roster the machine persisted, to the byte of its JSON, whatever
 * sequence of rosters, deltas and removals built it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Participant, RosterUpdate } from '../../machines/call.js';
import { applyRoster, EMPTY_ROSTER, packRoster, unpackRoster } from '../../machines/roster.js';
import { participant } from '../helpers/call-events.js';

const ids = ['a', 'b', 'c', 'd'];
const someone = fc
  .record({
    id: fc.constantFrom(...ids),
    seq: fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
    app: fc.boolean(),
    renamed: fc.boolean(),
    sources: fc.uniqueArray(fc.integer({ min: 1, max: 9 }), { maxLength: 3 }),
  })
  .map(({ id, seq, app, renamed, sources }): Participant => {
    const p = participant(id, seq ?? 0, {
      kind: app ? 'applicationInstance' : 'user',
      identities: [{ kind: app ? 'applicationInstance' : 'user', id: `${id}-${renamed ? 2 : 1}` }],
      sources: Object.fromEntries(
        sources.map((s, i) => [['audio', 'video', 'screen'][i]!, `${s}`]),
      ),
    });
    if (seq === undefined) delete p.seq;
    return p;
  });
const update: fc.Arbitrary<RosterUpdate> = fc.record({
  mode: fc.constantFrom('full', 'delta', 'removed'),
  participants: fc.uniqueArray(someone, { selector: (p) => p.id, maxLength: 4 }),
});

const stored = (roster: ReturnType<typeof packRoster>) =>
  unpackRoster(JSON.parse(JSON.stringify(roster)) as ReturnType<typeof packRoster>);

describe('a roster packed for the snapshot', () => {
  it('unpacks to the same JSON, key order included', () => {
    fc.assert(
      fc.property(fc.array(update, { maxLength: 12 }), (updates) => {
        let roster = EMPTY_ROSTER;
        updates.forEach((u, at) => {
          roster = applyRoster(roster, u, at, 3);
          expect(JSON.stringify(stored(packRoster(roster)))).toBe(JSON.stringify(roster));
        });
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a participant once: the history of one present keeps only its times and sources', () => {
    const roster = applyRoster(EMPTY_ROSTER, {
      mode: 'full',
      participants: [participant('a', 1, { sources: { audio: '10', video: '11' } })],
    });
    const packed = packRoster(roster);
    expect(packed).not.toHaveProperty('sources');
    expect(packed.history).toEqual([{ id: 'a', sources: ['10', '11'], joinedAt: 0 }]);
    // the stint of one who left keeps who it was: nothing else in the snapshot says it
    const left = applyRoster(roster, { mode: 'removed', participants: [participant('a', 2)] }, 5);
    expect(left.history[0]).toMatchObject({ kind: 'user', leftAt: 5 });
    expect(packRoster(left).history).toEqual(left.history);
  });

  it('passes a roster stored whole (by an older build) through unchanged', () => {
    const roster = applyRoster(EMPTY_ROSTER, {
      mode: 'full',
      participants: [participant('a', 1), participant('b', 2)],
    });
    expect(JSON.stringify(stored(roster))).toBe(JSON.stringify(roster));
  });
});
