/** The shared bench harness: open-loop arrivals, percentiles, repeats, processes, machine facts. */
export { fmt, quantile, summarize, type Summary } from './histogram.js';
export { machineFacts, parseInfo, redisPid, type MachineFacts } from './machine.js';
export { openLoop, type OpenLoopOptions, type OpenLoopResult } from './open-loop.js';
export { bounded, repeated, sleep, type Repeated } from './repeat.js';
export { BENCH_IMPORTS, profileRoles, ready, startRole, until, type RoleProcess } from './roles.js';
export {
  add,
  commandStats,
  countWire,
  delta,
  firstKey,
  total,
  type Tally,
  type WireCounter,
} from './redis-count.js';
export { cpuTime, meterCpu, type CpuMeter, type CpuTime } from './cpu.js';
export {
  INGRESS_MAIN,
  startBenchSystem,
  WORKERS_MAIN,
  type BenchSystem,
  type BenchSystemOptions,
} from './system.js';
