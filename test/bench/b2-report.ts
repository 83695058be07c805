/** B2's section of results/latest.md. */
import type { B2Result, B2Run } from './b2-ordered-notifications.js';
import { fmt } from './harness/index.js';
import { table, verdict } from './report-table.js';

const runRow = (r: B2Run, ratio: string): (string | number)[] => [
  r.offeredPerSec,
  r.target,
  fmt(r.achievedPerSec),
  ratio,
  r.notifications,
  r.failed,
  fmt(r.latency.p50),
  fmt(r.latency.p99),
  fmt(r.latency.max),
  fmt(r.cpuMsPerNotification),
  fmt(r.generatorLateness.p99),
  Object.entries(r.cpu)
    .map(([name, c]) => `${name} ${c.total.toFixed(2)}`)
    .join(', '),
];

export function b2Markdown(result: B2Result): string {
  const c = result.correctness;
  const best = Math.max(
    ...result.points.filter((p) => p.system.failed === 0).map((p) => p.system.achievedPerSec),
    0,
  );
  return [
    `## B2 ordered-notifications${result.label ? ` (${result.label})` : ''}`,
    '',
    result.setup,
    '',
    table(
      [
        'offered/s',
        'target',
        'achieved/s',
        'vs floor (throughput, CPU/notification)',
        'notifications',
        'failed',
        'p50 ms',
        'p99 ms',
        'max ms',
        'CPU ms / notification',
        'generator lag p99',
        'CPU cores (bench = load generator)',
      ],
      result.points.flatMap((p) => [
        runRow(
          p.system,
          p.throughputRatio === undefined
            ? '—'
            : `${p.throughputRatio.toFixed(2)} ×, ${p.cpuRatio?.toFixed(1)} ×`,
        ),
        ...(p.floor ? [runRow(p.floor, '1 ×')] : []),
      ]),
    ),
    '',
    `Correctness over the whole run: ${c.calls} calls (${c.liveAtPeak} live at the peak, ` +
      `${c.shuffledCalls} with 'established' first), ${c.notifications} notifications of which ` +
      `${c.duplicatesSent} duplicates; lost updates ${c.lostUpdates}, undecidable removals ${c.undecidableRemovals} (${c.unacknowledgedRosters} calls whose last roster notification failed not checked), illegal transitions ` +
      `${c.illegalTransitions}, duplicate Graph effects ${c.duplicateGraphEffects}, failed ` +
      `deliveries ${c.failedDeliveries}, calls not stored as terminated ${c.notTerminated}, ` +
      `answers later than 5 s ${c.lateAnswers} (the simulator's deadline is raised to 60 s here).` +
      (Object.keys(c.failures).length
        ? ` Failures: ${Object.entries(c.failures)
            .sort((a, b) => b[1] - a[1])
            .slice(0, 4)
            .map(([k, n]) => `${n} × ${k}`)
            .join('; ')}.`
        : '') +
      (c.examples.length ? ` Examples: ${c.examples.join('; ')}.` : ''),
    '',
    'Targets:',
    '',
    `- ≥ 3,000 notifications/s sustained (best rate without failures): ${fmt(best)} → ${verdict(best >= 3000)}`,
    `- zero lost updates, illegal transitions, duplicate Graph effects: ${verdict(
      c.lostUpdates + c.illegalTransitions + c.duplicateGraphEffects === 0,
    )}`,
  ].join('\n');
}
