/**
 * CPU used by processes over a run, in cores (1 = one core busy), with the kernel's share: which
 * process saturated shows why a run was slow, and a large kernel share points at syscalls and
 * wake-ups rather than JavaScript (Linux /proc; elsewhere the numbers are absent). The bench
 * process itself is read with `process.cpuUsage()`.
 */
import { readFileSync } from 'node:fs';

export interface CpuTime {
  /** user + system seconds */
  total: number;
  system: number;
}

/** CPU seconds used so far by `pid`, or undefined where /proc is not readable. */
export function cpuTime(pid: number): CpuTime | undefined {
  if (pid === process.pid) {
    const { user, system } = process.cpuUsage();
    return { total: (user + system) / 1e6, system: system / 1e6 };
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // after the command name (which may hold spaces): utime is field 14, stime field 15
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const user = Number(fields[11]) / 100; // USER_HZ is 100 on Linux
    const system = Number(fields[12]) / 100;
    return { total: user + system, system };
  } catch {
    return undefined;
  }
}

export interface CpuMeter {
  /** Cores each named process used since the meter started (total and kernel share). */
  stop(): Record<string, CpuTime>;
  /** CPU seconds each named process used since the meter started (not divided by time). */
  seconds(): Record<string, number>;
}

const round = (n: number): number => Math.round(n * 100) / 100;

export function meterCpu(processes: Record<string, number | undefined>): CpuMeter {
  const started = performance.now();
  const before = Object.entries(processes).map(
    ([name, pid]) => [name, pid, pid === undefined ? undefined : cpuTime(pid)] as const,
  );
  /** CPU used by each process since the start, in seconds. */
  const used = (): Record<string, CpuTime> => {
    const out: Record<string, CpuTime> = {};
    for (const [name, pid, from] of before) {
      const to = pid === undefined ? undefined : cpuTime(pid);
      if (from === undefined || to === undefined) continue;
      out[name] = { total: to.total - from.total, system: to.system - from.system };
    }
    return out;
  };
  return {
    stop() {
      const seconds = (performance.now() - started) / 1000;
      const out: Record<string, CpuTime> = {};
      for (const [name, c] of Object.entries(used()))
        out[name] = { total: round(c.total / seconds), system: round(c.system / seconds) };
      return out;
    },
    seconds: () => Object.fromEntries(Object.entries(used()).map(([name, c]) => [name, c.total])),
  };
}
