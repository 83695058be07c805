/**
 * The role processes tests spawn, bundled once per run. Under tsx every spawned process resolves,
 * transforms and links some 300 modules of ours before its first line runs (≈ 1.7 s of CPU on a
 * 2-core machine, dozens of times per run); one esbuild bundle per entry point loads in a fraction
 * of that. The bundle is the same source compiled the way tsx compiles it (esbuild), with the npm
 * dependencies left as imports, so a spawned process runs what `npm start` runs.
 *
 * Built by the global setup into a folder of the run's own (`TEST_ROLE_BUNDLES`), mirroring the
 * source layout so the launcher finds the roles next to itself; every bundle gets the Lua scripts
 * beside it, as `npm run build` puts them beside the compiled Redis module.
 */
import { build } from 'esbuild';
import { cp, mkdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** Entry points tests spawn as processes: the roles, the launcher, the command-line tools. */
export const BUNDLED_ENTRIES = [
  'src/roles/ingress/main.ts',
  'src/roles/media/main.ts',
  'workers/main.ts',
  'src/process/launcher.ts',
  'src/cli/calls-main.ts',
  'src/dev/loadgen/main.ts',
  'src/media/recording/verify-cli.ts',
] as const;

const ROOT = resolve(import.meta.dirname, '../..');
const LUA = join(ROOT, 'src/redis/lua');

/** Where `entry`'s bundle is in `dir`. */
const bundlePath = (dir: string, entry: string): string =>
  join(dir, entry.replace(/\.ts$/, '.mjs'));

/**
 * Node's arguments to run `file` (relative to the repository, or absolute): its bundle when the
 * run built one, else the source under tsx (a test file run outside the suite's global setup).
 */
export function entryArgs(file: string): string[] {
  const dir = process.env.TEST_ROLE_BUNDLES;
  const bundle = dir ? bundlePath(dir, relative(ROOT, resolve(ROOT, file))) : undefined;
  return bundle && existsSync(bundle) ? [bundle] : ['--import', 'tsx', file];
}

/**
 * Bundles every entry into a fresh folder under node_modules/.cache (inside the repository, so
 * the bundles resolve the same node_modules) and returns it.
 */
export async function buildRoleBundles(): Promise<string> {
  const dir = join(ROOT, 'node_modules/.cache/cr-test-roles', String(process.pid));
  await rm(dir, { recursive: true, force: true });
  await build({
    absWorkingDir: ROOT,
    entryPoints: BUNDLED_ENTRIES.map((e) => join(ROOT, e)),
    outbase: ROOT,
    outdir: dir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // npm dependencies stay imports (resolved from node_modules, instrumented as usual); the
    // workspace packages are bundled from source, as tsconfig's paths map them
    packages: 'external',
    tsconfig: join(ROOT, 'tsconfig.json'),
    logLevel: 'warning',
  });
  await Promise.all(
    BUNDLED_ENTRIES.map(async (entry) => {
      const lua = join(dirname(bundlePath(dir, entry)), 'lua');
      await mkdir(lua, { recursive: true });
      await cp(LUA, lua, { recursive: true });
    }),
  );
  return dir;
}

export async function removeRoleBundles(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}
