/** B9's section of results/latest.md. */
import type { B9Result } from './b9-telemetry-overhead.js';
import { fmt } from './harness/index.js';
import { table, verdict } from './report-table.js';

const pct = (n: number) => `${n >= 0 ? '+' : ''}${(n * 100).toFixed(1)} %`;

export function b9Markdown(r: B9Result): string {
  const off = r.points.find((p) => p.mode === 'off');
  const full = r.points.find((p) => p.mode === '100 %');
  const rows = r.points.map((p) => [
    p.mode,
    `${fmt(p.b1.p50)} / ${fmt(p.b1.p99)}`,
    off ? `${fmt(p.b1.p99 - off.b1.p99)} ms` : '—',
    `${fmt(p.b1.cpuMsPerCall)}${off ? ` (${pct(p.b1.cpuMsPerCall / off.b1.cpuMsPerCall - 1)})` : ''}`,
    p.b1.missed,
    `${fmt(p.b2.achievedPerSec)} of ${p.b2.offeredPerSec}`,
    `${fmt(p.b2.p99)}${off ? ` (${fmt(p.b2.p99 - off.b2.p99)} ms)` : ''}`,
    `${fmt(p.b2.cpuMsPerNotification)}${off ? ` (${pct(p.b2.cpuMsPerNotification / off.b2.cpuMsPerNotification - 1)})` : ''}`,
    p.b2.lostUpdates,
  ]);
  // capacity lost = extra CPU per unit of work; throughput lost = what the open loop did not get
  const capacityLoss =
    off && full ? 1 - off.b2.cpuMsPerNotification / full.b2.cpuMsPerNotification : Number.NaN;
  const throughputLoss =
    off && full ? 1 - full.b2.achievedPerSec / off.b2.achievedPerSec : Number.NaN;
  const p99Lost =
    off && full ? Math.max(full.b1.p99 - off.b1.p99, full.b2.p99 - off.b2.p99) : Number.NaN;
  return [
    '## B9 telemetry-overhead',
    '',
    r.setup,
    '',
    `Receiver: ${r.receiver}.`,
    '',
    table(
      [
        'tracing',
        'B1 answer p50 / p99 ms',
        'B1 p99 vs off',
        'B1 CPU ms / call (vs off)',
        'B1 missed 5 s',
        'B2 notifications/s achieved',
        'B2 p99 ms (vs off)',
        'B2 CPU ms / notification (vs off)',
        'B2 lost updates',
      ],
      rows,
    ),
    '',
    'Targets (100 % sampled against off):',
    '',
    `- ≤ 10 % throughput lost: achieved ${pct(-throughputLoss)}, capacity (CPU per notification) ${pct(-capacityLoss)} → ${verdict(Math.max(throughputLoss, capacityLoss) <= 0.1)}`,
    `- ≤ 1 ms p99 lost (worst of B1, B2): ${fmt(p99Lost)} ms → ${verdict(p99Lost <= 1)}`,
  ].join('\n');
}
