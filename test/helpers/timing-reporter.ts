/**
 * A vitest reporter that ends a run with where the time went: each project's wall time (first
 * file started to last file finished, and when that was in the run; projects overlap, so these do
 * not add up to the run) and the ten slowest files. It only reads timings; the default and JSON
 * reporters stay as they are.
 */
import type { Reporter, TestModule } from 'vitest/node';

const TOP = 10;

export default class TimingReporter implements Reporter {
  private readonly started = new Map<string, number>();
  private readonly finished = new Map<string, number>();
  private runStarted = performance.now();

  onTestRunStart(): void {
    this.runStarted = performance.now();
  }

  onTestModuleStart(module: TestModule): void {
    this.started.set(module.moduleId, performance.now());
  }

  onTestModuleEnd(module: TestModule): void {
    this.finished.set(module.moduleId, performance.now());
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    if (modules.length === 0) return;
    const projects = new Map<string, { files: number; from: number; to: number }>();
    const files = modules.map((m) => {
      const project = m.project.name || '(root)';
      const from = this.started.get(m.moduleId);
      const to = this.finished.get(m.moduleId);
      const d = m.diagnostic();
      // the file's own time: import + collection + tests and hooks, as vitest measured it
      const ms = d.collectDuration + d.setupDuration + d.duration;
      if (from !== undefined && to !== undefined) {
        const p = projects.get(project) ?? { files: 0, from, to };
        projects.set(project, {
          files: p.files + 1,
          from: Math.min(p.from, from),
          to: Math.max(p.to, to),
        });
      }
      return { name: m.relativeModuleId, project, ms };
    });
    const lines = ['', 'Where the time went:'];
    for (const [name, p] of [...projects].sort((a, b) => a[1].from - b[1].from)) {
      const span = `${seconds(p.from - this.runStarted).trim()} → ${seconds(p.to - this.runStarted).trim()}`;
      lines.push(
        `  ${name.padEnd(12)} ${seconds(p.to - p.from)} wall, ${p.files} files (${span} into the run)`,
      );
    }
    lines.push(`  run          ${seconds(performance.now() - this.runStarted)} until this report`);
    lines.push(`  slowest ${Math.min(TOP, files.length)} files:`);
    for (const f of files.sort((a, b) => b.ms - a.ms).slice(0, TOP)) {
      lines.push(`    ${seconds(f.ms)}  ${f.name} [${f.project}]`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1).padStart(6)} s`;
