/**
 * `npm run verify -- <dir> [<dir>…]`: prints what verifyRecording finds in each recording
 * directory and exits 1 if any is not ok (2 when called without a directory).
 */
import { describeSpeakers } from './speakers.js';
import { verifyRecording } from './verify.js';
import type { Gap, VerifyResult } from './types.js';

function describeGap(g: Gap): string {
  const span = `${new Date(g.from).toISOString()} → ${new Date(g.to).toISOString()}`;
  return `gap ${g.track ?? 'all tracks'} ${span} (${g.to - g.from} ms, ${g.reason})`;
}

function report(dir: string, r: VerifyResult): string {
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const state = r.finalized ? 'finalized' : 'not finalized';
  const lines = [
    `${dir}: ${r.ok ? 'OK' : 'FAILED'} (${state}, ${plural(r.segments, 'segment')}, ${plural(r.gaps.length, 'gap')})`,
    ...r.problems.map((p) => `  problem: ${p}`),
    ...r.gaps.map((g) => `  ${describeGap(g)}`),
    ...r.speakers.flatMap(describeSpeakers).map((line) => `  speaker ${line}`),
    ...r.orphans.map((o) => `  orphan (not in the manifest, ignored): ${o}`),
    ...r.notes.map((n) => `  note: ${n}`),
  ];
  return lines.join('\n');
}

async function main(dirs: string[]): Promise<number> {
  if (dirs.length === 0) {
    console.error('usage: npm run verify -- <recording dir> [<recording dir>…]');
    return 2;
  }
  let failed = 0;
  for (const dir of dirs) {
    const result = await verifyRecording(dir);
    console.log(report(dir, result));
    if (!result.ok) failed += 1;
  }
  if (dirs.length > 1) console.log(`${dirs.length - failed} of ${dirs.length} recordings OK`);
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
