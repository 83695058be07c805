/**
 * `npm run bench` / `npm run bench:quick`: the benchmarks of docs/benchmarks.md that exist
 * so far (B1 to B7, B9), each side by side with its floor or peer in the same run. Writes
 * test/bench/results/latest.json and latest.md (with the machine's facts).
 *
 *   tsx test/bench/run.ts [--quick] [--only B1,B3,B7] [--cpu-prof DIR] [--b1-rates 10,60]
 *     [--b2-rates 2000,3000]
 *
 * `--b1-rates` and `--b2-rates` set the offered rates of B1 (calls/s) and B2 (notifications/s),
 * e.g. to rerun only the top of the full run's range.
 * `--cpu-prof DIR` runs every role process (ingress, worker) under `node --cpu-prof`, writing
 * one .cpuprofile per process to DIR when it stops (`test/bench/profile-summary.ts` reads them).
 *
 * The simulator's HTTPS must be trusted by this process (the floor's Graph POSTs) and by the
 * role processes; Node reads NODE_EXTRA_CA_CERTS only at start, so the runner prepares the
 * test certificates (test/global-setup.ts, as `npm test` does) and restarts itself once with
 * them trusted.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { relaunchTrusting } from '../../src/dev/trusted-relaunch.js';
import { setup, teardown } from '../global-setup.js';
import { testRedisUrl } from '../helpers/redis.js';
import { runB1, type B1Result } from './b1-answer-latency.js';
import { runB2 } from './b2-ordered-notifications.js';
import { runB4 } from './b4-held-calls.js';
import { runB6 } from './b6-media-ingest.js';
import { runB5 } from './b5-failover.js';
import { runB9 } from './b9-telemetry-overhead.js';
import { runB3 } from './b3-redis-cost.js';
import { runB7 } from './b7-queue-overhead.js';
import { latencyChart } from './chart.js';
import { machineFacts, profileRoles } from './harness/index.js';
import { renderMarkdown, type BenchReport } from './report.js';

const ALL = ['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B9'] as const;

interface Args {
  quick: boolean;
  only: Set<string>;
  cpuProf?: string;
  b1Rates?: number[];
  b2Rates?: number[];
}

/** `--b1-rates 10,60`: the offered rates given, or undefined when the flag is absent. */
function ratesOf(argv: string[], flag: string): number[] | undefined {
  const r = argv.indexOf(flag);
  if (r < 0) return undefined;
  const rates = (argv[r + 1] ?? '').split(',').map(Number);
  if (!rates.every((n) => Number.isInteger(n) && n > 0 && n <= 100_000))
    throw new Error(`${flag} needs positive whole rates per second, e.g. 100,300`);
  return rates;
}

function parseArgs(argv: string[]): Args {
  const quick = argv.includes('--quick');
  const prof = argv.indexOf('--cpu-prof');
  const cpuProf = prof >= 0 ? argv[prof + 1] : undefined;
  if (prof >= 0 && !cpuProf) throw new Error('--cpu-prof needs a directory');
  const at = argv.indexOf('--only');
  const only = new Set(
    at >= 0 ? (argv[at + 1] ?? '').split(',').map((s) => s.trim().toUpperCase()) : ALL,
  );
  for (const id of only)
    if (!(ALL as readonly string[]).includes(id)) throw new Error(`unknown benchmark ${id}`);
  const b1Rates = ratesOf(argv, '--b1-rates');
  const b2Rates = ratesOf(argv, '--b2-rates');
  return {
    quick,
    only,
    ...(cpuProf ? { cpuProf } : {}),
    ...(b1Rates ? { b1Rates } : {}),
    ...(b2Rates ? { b2Rates } : {}),
  };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  // restart once with the test certificates trusted (test/global-setup.ts keeps them here)
  const relaunched = await relaunchTrusting(join(tmpdir(), 'cr-test-certs'), 'test');
  if (relaunched !== undefined) return relaunched;
  const started = Date.now();
  if (args.cpuProf) profileRoles(args.cpuProf);
  await setup(); // certificates' paths in TEST_* and a reachable Redis (reused or private)
  try {
    const redisUrl = testRedisUrl();
    const report: BenchReport = {
      generatedAt: new Date().toISOString(),
      mode: args.quick ? 'quick' : 'full',
      durationS: 0,
      machine: await machineFacts(redisUrl),
      loadAvg1mAtEnd: 0,
    };
    if (args.only.has('B3')) report.B3 = await runB3({ quick: args.quick });
    if (args.only.has('B4')) report.B4 = await runB4({ quick: args.quick });
    if (args.only.has('B5')) report.B5 = await runB5({ quick: args.quick });
    if (args.only.has('B6')) report.B6 = await runB6({ quick: args.quick, redisUrl });
    if (args.only.has('B7')) report.B7 = await runB7({ quick: args.quick, redisUrl });
    if (args.only.has('B1'))
      report.B1 = await runB1({
        quick: args.quick,
        redisUrl,
        ...(args.b1Rates ? { rates: args.b1Rates } : {}),
      });
    if (args.only.has('B2'))
      report.B2 = await runB2({
        quick: args.quick,
        redisUrl,
        ...(args.b2Rates ? { rates: args.b2Rates } : {}),
      });
    if (args.only.has('B9')) report.B9 = await runB9({ quick: args.quick, redisUrl });
    report.durationS = Math.round((Date.now() - started) / 1000);
    report.loadAvg1mAtEnd = Number(loadavg()[0]?.toFixed(2));
    const dir = fileURLToPath(new URL('./results/', import.meta.url));
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
    if (report.B1) {
      // the chart of B1's distribution: with the results, and in docs/ for the README
      const svg = b1Chart(report.B1, report.mode);
      await writeFile(join(dir, 'b1-latency.svg'), svg);
      await writeFile(fileURLToPath(new URL('../../docs/b1-latency.svg', import.meta.url)), svg);
    }
    const markdown = renderMarkdown(report);
    await writeFile(join(dir, 'latest.md'), markdown);
    console.log(`\n${markdown}`);
    console.log(`written: ${join(dir, 'latest.json')}, ${join(dir, 'latest.md')}`);
    return 0;
  } finally {
    await teardown();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('bench failed:', error);
    process.exit(1);
  },
);

/** Each rate's median system run against its median floor run. */
function b1Chart(result: B1Result, mode: 'quick' | 'full'): string {
  return latencyChart(
    `B1 answer latency, system against the inline floor (${mode} run)`,
    result.points.flatMap((p) => [
      { label: `system ${p.ratePerSec}/s`, floor: false, ms: p.system.distribution },
      { label: `floor ${p.ratePerSec}/s`, floor: true, ms: p.floor.distribution },
    ]),
  );
}
