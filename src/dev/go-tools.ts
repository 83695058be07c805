/**
 * Builds the observability tools from source with Go: Jaeger v2 (`tools/jaeger`, pinned by its
 * go.mod `tool` directive) and an OpenTelemetry Collector with exactly the components of
 * otel-collector.yaml (`tools/otelcol`). Binaries go to `tools/bin/` (ignored by git); a build
 * is skipped when the binary's stamp (a hash of the go.mod, go.sum, sources and Go version)
 * matches. Go fetches modules only through its module proxy and reuses its module and build
 * caches, so a second build on the same machine takes seconds.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TOOLS_DIR = fileURLToPath(new URL('../../tools/', import.meta.url));
export const BIN_DIR = join(TOOLS_DIR, 'bin');

/** The Go release the tools' go.mod files name; older ones refuse them. */
const MIN_GO: [number, number] = [1, 26];

interface Tool {
  name: 'jaeger' | 'otelcol';
  /** Module directory under tools/. */
  dir: string;
  /** What `go build` builds there. */
  pkg: string;
}

const TOOLS: Tool[] = [
  { name: 'jaeger', dir: 'jaeger', pkg: 'github.com/jaegertracing/jaeger/cmd/jaeger' },
  { name: 'otelcol', dir: 'otelcol', pkg: '.' },
];

export class ToolsError extends Error {
  override name = 'ToolsError';
}

export const GO_HINT =
  `The observability tools are built from source and need Go ${MIN_GO.join('.')} or newer ` +
  '(https://go.dev/doc/install; on Debian/Ubuntu the golang-go package may be older, then ' +
  'install the official release). Then run: npm run tools';

export type ToolPaths = Record<Tool['name'], string>;

export const toolPath = (name: Tool['name']): string => join(BIN_DIR, name);

/** `go version` → [1, 26], or a ToolsError saying what is missing and how to get it. */
export function goVersion(): { version: [number, number]; text: string } {
  const run = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (run.error || run.status !== 0) throw new ToolsError(`go was not found on PATH. ${GO_HINT}`);
  const text = run.stdout.trim();
  const match = /go(\d+)\.(\d+)/.exec(text);
  if (!match) throw new ToolsError(`could not read the Go version from "${text}". ${GO_HINT}`);
  const version: [number, number] = [Number(match[1]), Number(match[2])];
  const [major, minor] = version;
  if (major < MIN_GO[0] || (major === MIN_GO[0] && minor < MIN_GO[1]))
    throw new ToolsError(`${text} is too old. ${GO_HINT}`);
  return { version, text };
}

function stamp(tool: Tool, go: string): string {
  const dir = join(TOOLS_DIR, tool.dir);
  const hash = createHash('sha256').update(go).update(tool.pkg);
  const files = readdirSync(dir).filter((f) => /^go\.(mod|sum)$|\.go$/.test(f));
  for (const file of files.sort()) hash.update(file).update(readFileSync(join(dir, file)));
  return hash.digest('hex');
}

function goBuild(tool: Tool, out: string, log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    // -mod=readonly: go.mod and go.sum are the pins; a build never rewrites them
    const child = spawn('go', ['build', '-mod=readonly', '-buildvcs=false', '-o', out, tool.pkg], {
      cwd: join(TOOLS_DIR, tool.dir),
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      for (const line of d.toString().split('\n')) if (line.trim()) log(`  ${line}`);
    });
    child.on('error', (err) => reject(new ToolsError(`go build failed to start: ${err.message}`)));
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new ToolsError(`go build of ${tool.name} failed (exit ${code}):\n${stderr}`)),
    );
  });
}

/** Builds what is missing or out of date; returns the binaries' paths. */
export async function buildTools(log: (line: string) => void = console.log): Promise<ToolPaths> {
  const go = goVersion();
  const paths = {} as ToolPaths;
  for (const tool of TOOLS) {
    const out = toolPath(tool.name);
    const stampFile = `${out}.stamp`;
    const want = stamp(tool, go.text);
    paths[tool.name] = out;
    if (existsSync(out) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === want) {
      log(`${tool.name}: up to date (${out})`);
      continue;
    }
    log(
      `${tool.name}: building with ${go.text} (first time: modules download, then a few minutes)`,
    );
    const started = Date.now();
    await goBuild(tool, out, log);
    writeFileSync(stampFile, want);
    log(`${tool.name}: built in ${((Date.now() - started) / 1000).toFixed(1)} s → ${out}`);
  }
  return paths;
}
