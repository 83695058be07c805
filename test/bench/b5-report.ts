/** B5's section of results/latest.md. */
import type { B5Result } from './b5-failover.js';
import { fmt, type Summary } from './harness/index.js';
import { table, verdict } from './report-table.js';

const row = (name: string, s: Summary): (string | number)[] => [
  name,
  s.count,
  fmt(s.p50),
  fmt(s.p99),
  fmt(s.max),
];

export function b5Markdown(r: B5Result): string {
  const p99 = Math.max(
    Number.isFinite(r.ingressResume.p99) ? r.ingressResume.p99 : 0,
    Number.isFinite(r.workerResume.p99) ? r.workerResume.p99 : 0,
    Number.isFinite(r.workerAnswers.p99) ? r.workerAnswers.p99 : 0,
  );
  const anchorMs = 30_000;
  return [
    '## B5 failover',
    '',
    r.setup,
    ...r.notes.map((n) => `\n**${n}.**`),
    '',
    `Killed ${fmt(r.killedAtMs / 1000)} s after the first invite. Kill → the dead process's work done elsewhere, ms:`,
    '',
    table(
      ['work of the dead process', 'items', 'p50', 'p99', 'max'],
      [
        row('ingress-1: notifications retried on a live replica, answered 2xx', r.ingressResume),
        row(
          `worker-0: the ${r.workerJobsHeld} jobs it held (${r.workerJobsLost} never taken again), taken by a live worker`,
          r.workerResume,
        ),
        row(
          'worker-0: of its answer jobs, those not finished at the kill, Graph acted',
          r.workerAnswers,
        ),
      ],
    ),
    '',
    `Correctness over ${r.calls} calls: lost (never answered) ${r.lostCalls}, duplicate answers (calls with more than one answer POST) ` +
      `${r.duplicateAnswers}, answers later than 5 s ${r.missedDeadlines}, calls not ended normally ` +
      `${r.notEndedNormally}.` +
      (r.lostCalls > 0
        ? ` What the orchestrator says of the lost calls: ${Object.entries(r.lostWhy ?? {})
            .map(([why, n]) => `${n} × ${why}`)
            .join('; ')}.`
        : ''),
    '',
    `Redis (MONITOR on the private server for 3 s before the kill, commands sent by clients): ${r.redis.commands} commands, ` +
      `${r.redis.lockRenewals} BullMQ lock renewals (${(r.redis.renewalShare * 100).toFixed(2)} %), ` +
      `${r.redis.stallChecks} stall checks.`,
    '',
    `Against the published anchor: ${r.anchors[0]}; our p99 ${fmt(p99)} ms is ` +
      `${fmt(anchorMs / Math.max(1, p99))} × shorter than its 30 s lower bound.`,
    '',
    'Targets:',
    '',
    `- the dead replica's work resumes within 1 s at p99: ${fmt(p99)} ms → ${verdict(p99 <= 1000)}`,
    `- lock renewals ≤ 5 % of Redis commands: ${(r.redis.renewalShare * 100).toFixed(2)} % → ${verdict(r.redis.renewalShare <= 0.05)}`,
    `- zero lost transitions, zero duplicate answers: ${r.lostCalls} / ${r.duplicateAnswers} → ${verdict(
      r.lostCalls + r.duplicateAnswers === 0,
    )}`,
  ].join('\n');
}
