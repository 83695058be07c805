/** The Markdown face of a bench run: machine facts, one section per benchmark, target verdicts. */
import type { B1RatePoint, B1Result, B1Run } from './b1-answer-latency.js';
import type { B3Result, B3Side } from './b3-redis-cost.js';
import type { B7Result, B7Run } from './b7-queue-overhead.js';
import type { B2Result } from './b2-ordered-notifications.js';
import { b2Markdown } from './b2-report.js';
import type { B4Result } from './b4-held-calls.js';
import { b4Markdown } from './b4-report.js';
import type { B5Result } from './b5-failover.js';
import { b5Markdown } from './b5-report.js';
import type { B6Result } from './b6-media-ingest.js';
import { b6Markdown } from './b6-report.js';
import type { B9Result } from './b9-telemetry-overhead.js';
import { b9Markdown } from './b9-report.js';
import { table, verdict } from './report-table.js';
import { fmt, type MachineFacts, type Summary } from './harness/index.js';

export interface BenchReport {
  generatedAt: string;
  mode: 'quick' | 'full';
  durationS: number;
  machine: MachineFacts;
  /** 1-minute load average when the run ended (see `MachineFacts.loadAvg1m` for the start). */
  loadAvg1mAtEnd: number;
  B1?: B1Result;
  B2?: B2Result;
  B3?: B3Result;
  B4?: B4Result;
  B5?: B5Result;
  B6?: B6Result;
  B7?: B7Result;
  B9?: B9Result;
}

const pcts = (s: Summary): string[] => [fmt(s.p50), fmt(s.p99), fmt(s.p999), fmt(s.max)];

function machine(m: MachineFacts, loadAtEnd: number): string {
  return table(
    ['fact', 'value'],
    [
      ['CPUs', `${m.cpuCount} × ${m.cpuModel}`],
      ['memory', `${m.memoryGiB} GiB`],
      ['OS', m.os],
      ['Node.js', m.node],
      ['Redis', m.redis],
      ['load average (1 min) at start / end', `${m.loadAvg1m} / ${loadAtEnd}`],
      ['commit', m.gitCommit],
    ],
  );
}

function b1Row(r: B1Run, ratio: string): (string | number)[] {
  return [
    r.ratePerSec,
    r.target,
    r.calls,
    ...pcts(r.latency),
    ratio,
    fmt(r.webhook2xx.p99),
    fmt(r.invite2xx.p99),
    r.missedDeadlines,
    r.duplicateAnswers,
    r.failedDeliveries + r.unsettled,
    fmt(r.generatorLateness.p99),
    Object.entries(r.cpu)
      .map(([name, c]) => `${name} ${c.total.toFixed(2)} (${c.system.toFixed(2)})`)
      .join(', '),
  ];
}

/** CPU ms per call of the median runs: the system's roles and Redis, the floor's process. */
function b1CpuPerCall(p: B1RatePoint): { system: number; floor: number } {
  const sum = (r: B1Run) => Object.values(r.cpuPerCallMs).reduce((n, ms) => n + ms, 0);
  // the floor uses no Redis: Redis's own idle work is not the floor's
  return { system: sum(p.system), floor: p.floor.cpuPerCallMs.floor ?? Number.NaN };
}

function b1(result: B1Result): string {
  const rows = result.points.flatMap((p) => [
    b1Row(p.system, `${p.p50Ratio.toFixed(2)} ×`),
    b1Row(p.floor, '1 ×'),
  ]);
  const split = result.points.flatMap((p) =>
    p.system.breakdown
      ? [
          [
            p.ratePerSec,
            `${fmt(p.system.breakdown.ingress.p50)} / ${fmt(p.system.breakdown.ingress.p99)}`,
            `${fmt(p.system.breakdown.queue.p50)} / ${fmt(p.system.breakdown.queue.p99)}`,
            `${fmt(p.system.breakdown.worker.p50)} / ${fmt(p.system.breakdown.worker.p99)}`,
          ],
        ]
      : [],
  );
  const slow = result.points.map(
    (p) =>
      `- ${p.ratePerSec}/s: ${p.system.slowest.map((s) => `${s.ms} ms${s.split ? ` (${s.split})` : ''}`).join('; ')}`,
  );
  const cpuPerCall = result.points.map((p) => {
    const { system, floor } = b1CpuPerCall(p);
    const parts = Object.entries(p.system.cpuPerCallMs)
      .map(([name, ms]) => `${name} ${fmt(ms)}`)
      .join(' + ');
    return `- ${p.ratePerSec}/s: system ${fmt(system)} ms (${parts}), floor ${fmt(floor)} ms = ${(system / floor).toFixed(2)} ×`;
  });
  const at100 = result.points.find((p) => p.ratePerSec === 100);
  const at300 = result.points.find((p) => p.ratePerSec === 300);
  const webhookP99 = Math.max(...result.points.map((p) => p.system.webhook2xx.p99));
  const checks = [
    at100
      ? `- p99 ≤ 25 ms at 100 calls/s: ${at100.system.latency.p99} ms → ${verdict(at100.system.latency.p99 <= 25)}`
      : '- p99 ≤ 25 ms at 100 calls/s: not run',
    ...result.points.map(
      (p) =>
        `- p50 ≤ 1.5 × floor at ${p.ratePerSec} calls/s: ${p.p50Ratio.toFixed(2)} × → ${verdict(p.p50Ratio <= 1.5)}`,
    ),
    `- webhook 2xx p99 ≤ 10 ms (worst rate): ${fmt(webhookP99)} ms → ${verdict(webhookP99 <= 10)}`,
    at300
      ? `- zero missed 5 s deadlines at 300 calls/s: ${at300.system.missedDeadlines} → ${verdict(at300.system.missedDeadlines === 0)}`
      : '- zero missed 5 s deadlines at 300 calls/s: not run (full mode only)',
    `- duplicate answers: ${result.points.reduce((n, p) => n + p.systemRuns.reduce((m, r) => m + r.duplicateAnswers, 0), 0)} over every system run`,
  ];
  return [
    '## B1 answer-latency',
    '',
    result.setup,
    '',
    'Invite sent → answer received by Graph, ms (median of 3 runs by p99; the simulator stamps whole ms).',
    '',
    table(
      [
        'calls/s',
        'target',
        'calls',
        'p50',
        'p99',
        'p99.9',
        'max',
        'p50 vs floor',
        'webhook 2xx p99',
        'invite 2xx p99',
        'missed 5 s',
        'dup answers',
        'failed deliveries',
        'generator lag p99',
        'CPU cores while loaded (kernel share)',
      ],
      rows,
    ),
    '',
    "Where the system's answer time goes (p50 / p99, ms, from the answer job's timestamps):",
    '',
    table(
      [
        'calls/s',
        'ingress (invite → job added)',
        'queue (added → taken)',
        'worker (taken → Graph)',
      ],
      split,
    ),
    '',
    'CPU per call (ms of CPU per placed call, from its invite until every call of the run ended), median runs:',
    '',
    ...cpuPerCall,
    '',
    'Slowest system answers of the median run:',
    '',
    ...slow,
    '',
    'Targets:',
    '',
    ...checks,
  ].join('\n');
}

function b3Side(name: string, s: B3Side): (string | number)[] {
  return [
    name,
    fmt(s.roundTripsPerEvent),
    fmt(s.serverCommandsPerEvent),
    fmt(s.roundTripsPerNotification),
    fmt(s.serverCommandsPerNotification),
    fmt(s.bullmqRoundTripsPerEvent),
    fmt(s.bullmqServerCommandsPerEvent),
  ];
}

const commands = (r: Record<string, number>): string =>
  Object.entries(r)
    .map(([k, v]) => `${k}${v === 1 ? '' : ` ×${Number.isInteger(v) ? v : fmt(v)}`}`)
    .join(', ') || '—';

function b3(result: B3Result): string {
  const m = result.median;
  return [
    '## B3 redis-cost',
    '',
    result.setup,
    '',
    table(
      [
        'implementation',
        'round trips / event',
        'server commands / event',
        'round trips / notification',
        'server commands / notification',
        'BullMQ round trips / event',
        'BullMQ server commands / event',
      ],
      [b3Side('ours (applyEvent)', m.ours), b3Side('peer: lock → GET → SET → unlock', m.peer)],
    ),
    '',
    `Commands of ours sent inside pipelines on the state server (whole run): ${m.ours.pipelined}. Per event of ours (wire = round trips; server includes the commit script's inner commands):`,
    '',
    table(
      ['event', 'wire commands', 'server commands', 'BullMQ wire / server'],
      m.ours.byEvent.map((e) => [
        e.event,
        commands(e.wire),
        commands(e.server),
        `${fmt(e.bullmqWire)} / ${fmt(e.bullmqServer)}`,
      ]),
    ),
    '',
    `Not in the table: the outbox sweeper. The run left ${m.sweeper.indexed} calls in the outbox index; ` +
      `one process's sweep passes over them cost ${fmt(m.sweeper.roundTripsPerEvent)} round trips and ` +
      `${fmt(m.sweeper.serverCommandsPerEvent)} server commands per event, and every ingress and worker ` +
      'process sweeps (with 2 ingress + 1 worker, up to 3 × that when their passes overlap).',
    '',
    `What a round trip costs the client here (${result.roundTripCpu.pings} PINGs over ioredis, ` +
      `user + kernel CPU): ${result.roundTripCpu.backToBackUs} µs one after the other, ` +
      `${result.roundTripCpu.spacedUs} µs when 2 ms apart (woken by each reply, as at low load); ` +
      'Redis pays its own side of each.',
    '',
    'Targets:',
    '',
    `- ≤ 2 round trips per notification: ${fmt(m.ours.roundTripsPerNotification)} → ${verdict(m.ours.roundTripsPerNotification <= 2)}`,
    `- ≤ 4 commands per notification (server count): ${fmt(m.ours.serverCommandsPerNotification)} → ${verdict(m.ours.serverCommandsPerNotification <= 4)}`,
  ].join('\n');
}

function b7Row(r: B7Run): (string | number)[] {
  return [
    r.target,
    r.jobs,
    ...pcts(r.dispatch),
    r.bullmqWait ? `${fmt(r.bullmqWait.p50)} / ${fmt(r.bullmqWait.p99)}` : '—',
    `${fmt(r.applyEvent.p50)} / ${fmt(r.applyEvent.p99)}`,
    fmt(r.generatorLateness.p99),
    r.lost,
  ];
}

function b7(result: B7Result): string {
  return [
    '## B7 queue-overhead',
    '',
    result.setup,
    '',
    'Commit → processor start, ms (median of 3 runs by p99):',
    '',
    table(
      [
        'dispatch',
        'jobs',
        'p50',
        'p99',
        'p99.9',
        'max',
        'BullMQ processedOn − timestamp p50 / p99',
        'applyEvent p50 / p99',
        'generator lag p99',
        'lost',
      ],
      [b7Row(result.bullmq), b7Row(result.direct)],
    ),
    '',
    `Added by BullMQ: p50 ${fmt(result.addedP50)} ms, p99 ${fmt(result.addedP99)} ms.`,
    '',
    `Target ≤ 1 ms added at p99: ${verdict(result.addedP99 <= 1)}`,
  ].join('\n');
}

export function renderMarkdown(report: BenchReport): string {
  return [
    `# Bench results (${report.mode})`,
    '',
    `${report.generatedAt}, ${report.durationS} s. Method: docs/benchmarks.md; raw numbers and every repeat in latest.json.`,
    '',
    machine(report.machine, report.loadAvg1mAtEnd),
    '',
    ...(report.B1 ? [b1(report.B1), ''] : []),
    ...(report.B2 ? [b2Markdown(report.B2), ''] : []),
    ...(report.B3 ? [b3(report.B3), ''] : []),
    ...(report.B4 ? [b4Markdown(report.B4), ''] : []),
    ...(report.B5 ? [b5Markdown(report.B5), ''] : []),
    ...(report.B6 ? [b6Markdown(report.B6), ''] : []),
    ...(report.B7 ? [b7(report.B7), ''] : []),
    ...(report.B9 ? [b9Markdown(report.B9), ''] : []),
  ].join('\n');
}
