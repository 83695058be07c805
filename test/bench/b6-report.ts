/** B6's section of results/latest.md. */
import type { B6Result, B6Side } from './b6-media-ingest.js';
import { fmt } from './harness/index.js';
import { table, verdict } from './report-table.js';

const side = (s: B6Side, ratio: string): (string | number)[] => [
  s.target,
  `${s.welcomed} / ${s.streams}`,
  s.framesSent,
  fmt(s.framesPerStreamPerSec),
  fmt(s.cpuUsPerFrame),
  ratio,
  fmt(s.streamsPerCore),
  Object.entries(s.cpu)
    .map(([name, c]) => `${name} ${c.total.toFixed(2)}`)
    .join(', '),
];

export function b6Markdown(r: B6Result): string {
  const rec = r.recordings;
  return [
    '## B6 media-ingest',
    '',
    r.setup,
    ...r.notes.map((n) => `\n**${n}.**`),
    '',
    'The peers send one frame per 20 ms timer tick; on a busy machine ticks come late, so fewer than 50 frames per stream per second are sent (the table says how many).',
    '',
    table(
      [
        'receiver',
        'streams welcomed',
        'frames sent (measured window)',
        'frames / stream / s',
        'CPU µs / frame',
        'vs floor',
        'streams per core (extrapolated)',
        'CPU cores (bench = the peers)',
      ],
      [side(r.media, `${r.cpuRatio.toFixed(2)} ×`), side(r.floor, '1 ×')],
    ),
    '',
    `Recordings: ${rec.checked} read back (${rec.missing} missing), ${rec.framesRecorded} frames ` +
      `byte-exact, ${rec.lostFrames} lost (${rec.lostInLast10} of them among the last ten frames before END), ${rec.corruptFrames} corrupt; ${rec.notYetPersisted} ` +
      'frames were sent before Graph confirmed the recording (not kept, by design).',
    '',
    'Targets:',
    '',
    `- ≥ 1,000 streams per media-process core: ${fmt(r.media.streamsPerCore)} → ${verdict(r.media.streamsPerCore >= 1000)}`,
    `- CPU per frame ≤ 1.5 × floor: ${r.cpuRatio.toFixed(2)} × → ${verdict(r.cpuRatio <= 1.5)}`,
    `- zero frame loss, recordings byte-exact: ${rec.lostFrames + rec.corruptFrames + rec.missing} → ${verdict(
      rec.lostFrames + rec.corruptFrames + rec.missing === 0 && rec.checked > 0,
    )}`,
  ].join('\n');
}
