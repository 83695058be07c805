/**
 * Speaker attribution: which participant owned each source id (MSI), and when. The media
 * process appends a `speakers` entry to the manifest with the whole source → owner map each
 * time the call's roster changes it (and once whenever a process opens the recording), so the
 * chain covers it like the media. `speakerIntervals` turns those snapshots into per-source
 * ownership intervals; finalize writes them into the `finalized` entry and verify recomputes
 * them. Times are the media process's clock (ms since epoch) when it learnt the change; media
 * timestamps are the sender's clock (also ms since epoch).
 */
import { z } from 'zod';

const Identity = z.object({
  kind: z.string().max(32),
  id: z.string().max(4096).optional(),
  tenantId: z.string().max(4096).optional(),
});

export const SpeakerOwner = z.object({
  participantId: z.string().max(4096),
  /** The participant's kind for display: user, guest, phone, application, … */
  kind: z.string().max(32),
  /** Every identity of the participant (a bot in a meeting has application and guest). */
  identities: z.array(Identity).max(16),
});
export type SpeakerOwner = z.infer<typeof SpeakerOwner>;

/** source id (decimal MSI) → its owner at one moment. */
export const SpeakerMap = z.record(z.string().regex(/^\d{1,10}$/), SpeakerOwner);
export type SpeakerMap = z.infer<typeof SpeakerMap>;

export const OwnerInterval = SpeakerOwner.extend({ from: z.number(), to: z.number() });
export type OwnerInterval = z.infer<typeof OwnerInterval>;

/** One unmixed source's owners over time, as the `finalized` entry lists them. */
export const SourceSpeakers = z.object({
  sourceId: z.string(),
  track: z.string(),
  owners: z.array(OwnerInterval),
});
export type SourceSpeakers = z.infer<typeof SourceSpeakers>;

const sameOwner = (a: SpeakerOwner, b: SpeakerOwner): boolean =>
  a.participantId === b.participantId &&
  a.kind === b.kind &&
  JSON.stringify(a.identities) === JSON.stringify(b.identities);

/**
 * The ownership intervals of every source named in `snapshots` (in manifest order), each open
 * interval closed at `end`. An owner that appears in consecutive snapshots is one interval.
 */
export function speakerIntervals(
  snapshots: ReadonlyArray<{ at: number; sources: SpeakerMap }>,
  end: number,
): SourceSpeakers[] {
  const owners = new Map<string, OwnerInterval[]>();
  const open = new Map<string, OwnerInterval>();
  for (const { at, sources } of snapshots) {
    for (const [sourceId, interval] of open) {
      const now = sources[sourceId];
      if (now && sameOwner(now, interval)) continue;
      interval.to = at;
      open.delete(sourceId);
    }
    for (const [sourceId, owner] of Object.entries(sources)) {
      if (open.has(sourceId)) continue;
      const interval: OwnerInterval = { ...owner, from: at, to: at };
      open.set(sourceId, interval);
      owners.set(sourceId, [...(owners.get(sourceId) ?? []), interval]);
    }
  }
  for (const interval of open.values()) interval.to = Math.max(interval.from, end);
  return [...owners]
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([sourceId, list]) => ({ sourceId, track: `src-${sourceId}`, owners: list }));
}

/** One line per owner of a source: `src-7: application <participant> from → to`. */
export function describeSpeakers(source: SourceSpeakers): string[] {
  const time = (ms: number) => new Date(ms).toISOString().slice(11, 23);
  return source.owners.map((o) => {
    const ids = o.identities.map((i) => `${i.kind} ${i.id ?? '?'}`).join(', ');
    const when = `${time(o.from)} → ${time(o.to)}`;
    return `${source.track}: ${o.kind} ${o.participantId} (${ids || 'no identity'}) ${when}`;
  });
}
