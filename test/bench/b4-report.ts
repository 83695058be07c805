/** B4's section of results/latest.md. */
import type { B4Result } from './b4-held-calls.js';
import { fmt } from './harness/index.js';
import { table, verdict } from './report-table.js';

export function b4Markdown(r: B4Result): string {
  const kb = (bytes: number) => `${fmt(bytes / 1024)} KB`;
  return [
    '## B4 held-calls',
    '',
    r.setup,
    ...r.notes.map((n) => `\n**${n}.**`),
    '',
    table(
      ['measure', 'ours', 'peer: live XState actor per call', 'ratio'],
      [
        ['calls established / offered', `${r.established} / ${r.calls}`, r.calls, ''],
        ['Redis per call (INFO used_memory delta)', kb(r.redisBytesPerCall), '— (no Redis)', ''],
        [
          `Redis per call (MEMORY USAGE, ${fmt(r.sampleKeysPerCall)} keys, sample of 20)`,
          kb(r.redisSampleBytesPerCall),
          '—',
          '',
        ],
        [
          'process heap per call',
          `ingress ${kb(r.ingressHeapPerCall)}`,
          kb(r.peerHeapPerCall),
          `${r.heapRatio.toFixed(2)} ×`,
        ],
        ['keep-alives sent at Graph', r.keepAlivesSent, '', ''],
        ['missed keep-alives', r.missedKeepAlives, '', ''],
        ['calls ended early', r.endedEarly, '', ''],
      ],
    ),
    '',
    `The sampled calls' keys by kind (MEMORY USAGE, mean per call, measured mid-hold; the dedup ` +
      `tokens in the call hash live 10 min whatever the compressed keep-alive interval, so a held ` +
      `call keeps more of them here than at the real 15-minute interval):`,
    '',
    table(
      ['kind', 'per call', 'keys per call'],
      (r.sampleByKind ?? []).map((k) => [k.kind, kb(k.bytesPerCall), fmt(k.keysPerCall)]),
    ),
    '',
    `Keys that name no call (p = the run's prefix, {q} = its queues), MEMORY USAGE divided by the ` +
      `calls held, mid-hold, the largest eight; what neither table shows is Redis's own ` +
      `bookkeeping of each key (its entry in the keyspace, an expiry):`,
    '',
    table(
      ['key', 'per call'],
      (r.sharedKeys ?? []).slice(0, 8).map((k) => [k.key, kb(k.bytesPerCall)]),
    ),
    '',
    'Targets:',
    '',
    `- Redis ≤ 4 KB per call: ${kb(r.redisBytesPerCall)} → ${verdict(r.redisBytesPerCall <= 4096)}`,
    `- ingress heap growth ≤ 1 KB per call: ${kb(r.ingressHeapPerCall)} → ${verdict(r.ingressHeapPerCall <= 1024)}`,
    `- zero missed keep-alives: ${r.missedKeepAlives + r.endedEarly} → ${verdict(r.missedKeepAlives + r.endedEarly === 0)}`,
  ].join('\n');
}
