/**
 * A flame summary of V8 CPU profiles (`.cpuprofile`, as `run.ts --cpu-prof DIR` writes one per
 * role process): self time by module (a package under node_modules, node's internals, or a
 * source file of this repository) and the top functions by self time, per profile.
 *
 *   tsx test/bench/profile-summary.ts DIR [--top 15] [--from 15]
 *
 * `--from S` leaves out the first S seconds of each profile: a role process started under tsx
 * spends its first seconds loading and compiling modules, which is not the work under load.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Where a frame's code lives, coarse enough to add up. */
function moduleOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith('node:internal/deps/')) return url.split('/').slice(0, 3).join('/');
  if (url.startsWith('node:internal/')) return url.split('/').slice(0, 2).join('/');
  if (url.startsWith('node:')) return url;
  const repo = /\/(src|machines|workers|test)\/(.*)$/.exec(url);
  if (repo) return `${repo[1]}/${repo[2]!.replace(/\?.*$/, '')}`;
  return url;
}

interface Summary {
  totalMs: number;
  byModule: [string, number][];
  byFunction: [string, number][];
}

function summarize(profile: CpuProfile, fromUs: number): Summary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let at = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at >= fromUs) self.set(id, (self.get(id) ?? 0) + delta);
  });
  const modules = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)' || functionName === '(program)') continue;
    total += us;
    const mod = moduleOf(url, functionName);
    modules.set(mod, (modules.get(mod) ?? 0) + us);
    const fn = `${functionName || '(anonymous)'} ${mod}:${lineNumber + 1}`;
    functions.set(fn, (functions.get(fn) ?? 0) + us);
  }
  const sorted = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, v / 1000] as [string, number]);
  return { totalMs: total / 1000, byModule: sorted(modules), byFunction: sorted(functions) };
}

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: profile-summary.ts DIR [--top N]');
  const topAt = process.argv.indexOf('--top');
  const top = topAt > 0 ? Number(process.argv[topAt + 1]) : 15;
  const fromAt = process.argv.indexOf('--from');
  const fromUs = fromAt > 0 ? Number(process.argv[fromAt + 1]) * 1e6 : 0;
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).sort()) {
    const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile;
    const s = summarize(profile, fromUs);
    const pct = (ms: number) => `${((100 * ms) / s.totalMs).toFixed(1).padStart(5)} %`;
    console.log(`\n## ${file}: ${s.totalMs.toFixed(0)} ms on CPU (idle left out)\n`);
    console.log('self time by module:');
    for (const [m, ms] of s.byModule.slice(0, top)) console.log(`  ${pct(ms)}  ${m}`);
    console.log('top functions by self time:');
    for (const [f, ms] of s.byFunction.slice(0, top)) console.log(`  ${pct(ms)}  ${f}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
